"""The `kanban-edge` command: run, check-config, edge, central-signals, demo."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.load_ahead import LoadAhead

if TYPE_CHECKING:
    from config.load import ConfigError
    from config.plant import PlantConfig

EXIT_CONFIG = 1
EXIT_RUNTIME = 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for chatty in ("gmqtt", "amqtt", "transitions", "uvicorn.error"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kanban-edge", description="Shop-floor sensors to kanban pull signals.")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run the service")
    run.add_argument("--config", "-c", type=Path, required=True, help="plant file (YAML)")
    run.add_argument(
        "--new-state", action="store_true",
        help="start with a new state database; an existing one is moved aside (<file>.replaced-<time>), not deleted",
    )
    run.set_defaults(handler=_cmd_run)
    check = sub.add_parser(
        "check-config", help="validate plant files and print every error; several files are checked as the sites"
        " of one central broker too (docs/SCALE-OUT.md)",
    )
    check.add_argument("config", type=Path, nargs="+")
    check.set_defaults(handler=_cmd_check)
    edge = sub.add_parser("edge", help="poll the plant file's PLCs over Modbus and publish their points")
    edge.add_argument("--config", "-c", type=Path, required=True, help="plant file (YAML)")
    edge.set_defaults(handler=_cmd_edge)
    central = sub.add_parser(
        "central-signals", help="keep every site's signal events once, from the central broker (docs/SCALE-OUT.md)"
    )
    central.add_argument("--broker", required=True, help="central broker, mqtt://host:port or mqtts://host:port;"
                         " user and password from KANBAN_CENTRAL_USERNAME and KANBAN_CENTRAL_PASSWORD")
    central.add_argument("--ca-file", type=Path, help="CA of the central broker's certificate (mqtts://)")
    central.add_argument("--db", type=Path, required=True, help="SQLite file of the signal events")
    central.add_argument("--topic", action="append", help="topic filter, repeatable (default kanban/+/signal/#)")
    central.add_argument("--client-id", default="kanban-central-signals", help="fixed: the broker keeps the session")
    central.set_defaults(handler=_cmd_central_signals)
    demo = sub.add_parser("demo", help="run the service with a broker and simulated scales")
    demo.add_argument("--config", "-c", type=Path, default=Path("config/example-plant.yaml"))
    demo.add_argument("--drain-seconds", type=float, default=30.0, help="how fast the simulated bins empty")
    demo.add_argument("--new-state", action="store_true", help="start with a new state database (as for run)")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def _load(path: Path) -> PlantConfig | None:
    # Imported here so that `run` can start loading the plant file before the service's modules load.
    from config.load import ConfigError, load_config

    gc.disable()  # a big plant file allocates hundreds of thousands of objects and frees none of them
    try:
        return load_config(path)
    except ConfigError as exc:
        _report(path, exc)
        return None
    finally:
        gc.enable()


def _report(path: Path, exc: ConfigError) -> None:
    for issue in exc.issues:
        print(issue, file=sys.stderr)
    print(f"{path}: {len(exc.issues)} error(s)", file=sys.stderr)


def _cmd_check(args: argparse.Namespace) -> int:
    plants = [(path, _load(path)) for path in args.config]
    valid = [(path, config) for path, config in plants if config is not None]
    for path, config in valid:
        print(
            f"{path}: OK: site {config.site}, {len(config.bins)} bins, {len(config.items)} items, "
            f"{len(config.suppliers)} suppliers, {len(config.plcs)} PLCs, {len(config.stations)} stations, "
            f"{len(config.scales)} MT-SICS scales, broker {config.mqtt.url}, topics {config.prefix}/..."
        )
    if len(valid) < len(plants):
        return EXIT_CONFIG
    if len(valid) > 1:
        from config.load import check_sites

        if issues := check_sites(valid):
            for issue in issues:
                print(issue, file=sys.stderr)
            print(f"{len(valid)} sites: {len(issues)} error(s) across them", file=sys.stderr)
            return EXIT_CONFIG
        print(f"{len(valid)} sites: site ids and topics apart, every topic fit for a central broker")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    ahead = LoadAhead(args.config)  # overlaps the imports below
    # httpx imports its command-line client whenever click and rich happen to be installed (rich comes with
    # the demo's broker): 3 MB of modules the service never uses.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from config.load import ConfigError
    from gateway.plant import Plant
    from gateway.service import Service

    plant = ahead.result()
    if isinstance(plant, ConfigError):
        _report(args.config, plant)
        return EXIT_CONFIG
    if plant is None:
        config = _load(args.config)
        if config is None:
            return EXIT_CONFIG
        plant = Plant.of(config)
        del config  # its bins go before the service builds the loops' state in their place

    def start(stop: asyncio.Event) -> Coroutine[Any, Any, None]:
        gc.disable()
        service = Service(plant, new_state=args.new_state)
        # What start-up built lives as long as the process: keep it out of every later collection.
        gc.freeze()
        gc.enable()
        return service.run(stop)

    return _run_until_signal(start)


def _cmd_edge(args: argparse.Namespace) -> int:
    from edge.runner import run_edge

    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    return _run_until_signal(lambda stop: run_edge(config, stop))


def _cmd_central_signals(args: argparse.Namespace) -> int:
    import os

    from pydantic import ValidationError

    from config.service import MqttConfig
    from gateway.central_signals import run_central_signals

    try:
        settings = MqttConfig.model_validate({
            "url": args.broker, "username": os.environ.get("KANBAN_CENTRAL_USERNAME"),
            "password": os.environ.get("KANBAN_CENTRAL_PASSWORD"),
            "tls": {"ca_file": args.ca_file} if args.ca_file else None,
        })
    except ValidationError as exc:
        error = exc.errors()[0]
        option = {"url": "--broker", "tls": "--ca-file"}.get(str(error["loc"][0]), "KANBAN_CENTRAL_USERNAME/PASSWORD")
        print(f"{option}: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return EXIT_CONFIG
    topics = args.topic or ["kanban/+/signal/#"]
    return _run_until_signal(lambda stop: run_central_signals(
        settings=settings, client_id=args.client_id, topics=topics, db=args.db, stop=stop))


def _cmd_demo(args: argparse.Namespace) -> int:
    from gateway.demo.run import run_demo

    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    return _run_until_signal(lambda stop: run_demo(config, stop, drain_s=args.drain_seconds, new_state=args.new_state))


def _run_until_signal(start: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> int:
    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await start(stop)

    try:
        asyncio.run(runner())
    except Exception as exc:  # a start-up failure: say what, not a traceback
        cause = _root_cause(exc)
        logging.getLogger("kanban-edge").error("%s", cause)
        code: int = getattr(cause, "exit_code", EXIT_RUNTIME)
        return code
    return 0


def _root_cause(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
