"""The `kanban-edge` command: run, check-config, edge, simulate, demo, init, backup, export, central-signals."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from config.bundled import DEMO_PLANT
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
    for chatty in ("gmqtt", "amqtt", "transitions", "uvicorn.error", "asyncua", "httpx"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    # asyncua logs a lost server as an error with a traceback; the OPC UA poller reports it as the PLC offline.
    logging.getLogger("asyncua.client.ua_session").setLevel(logging.CRITICAL)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kanban-edge", description="Shop-floor sensors to kanban pull signals.")
    parser.add_argument("--version", action="version", version=f"kanban-edge {_version()}")
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
    edge = sub.add_parser("edge", help="read the plant file's PLCs (Modbus, OPC UA) and publish their points")
    edge.add_argument("--config", "-c", type=Path, required=True, help="plant file (YAML)")
    edge.set_defaults(handler=_cmd_edge)
    simulate = sub.add_parser("simulate", help="play the plant file's scales, RFID readers and PLCs on this machine")
    simulate.add_argument("--config", "-c", type=Path, required=True, help="plant file (YAML)")
    _speed_options(simulate)
    simulate.set_defaults(handler=_cmd_simulate)
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
    demo = sub.add_parser("demo", help="a broker, the service, the edge poller and the simulator in one command")
    demo.add_argument("--config", "-c", type=Path, default=DEMO_PLANT, help="plant file (default: the demo plant)")
    _speed_options(demo)
    demo.add_argument("--influx-url", type=_http_url, help="also write history to this InfluxDB 1.x (database kanban)")
    demo.add_argument("--new-state", action="store_true", help="start with a new state database (as for run)")
    demo.set_defaults(handler=_cmd_demo)
    init = sub.add_parser("init", help="write a commented starter plant file")
    init.add_argument("directory", type=Path, nargs="?", default=Path(), help="where plant.yaml goes (default: here)")
    init.set_defaults(handler=_cmd_init)
    backup = sub.add_parser("backup", help="copy the state database and outbox while the service runs")
    backup.add_argument("--config", "-c", type=Path, required=True, help="plant file (YAML)")
    backup.add_argument("directory", type=Path, help="where the copies go (created; existing copies are replaced)")
    backup.set_defaults(handler=_cmd_backup)
    export = sub.add_parser(
        "export", help="write a running service's signals, loops or KPIs as CSV (an API key: $KANBAN_API_KEY)")
    export.add_argument("what", choices=["signals", "loops", "kpis"])
    where = export.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", "-c", type=Path, help="plant file: the service's API address is read from it")
    where.add_argument("--url", help="the service's API, e.g. http://127.0.0.1:8080")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    for name in ("status", "supplier", "line", "loop", "since", "limit"):
        export.add_argument(f"--{name}", help=f"signals only: as ?{name}= of GET /api/v1/signals")
    export.set_defaults(handler=_cmd_export)
    return parser


def _speed_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--speed", type=_speed, default=300.0,
                        help="how many times faster than real time bins empty and suppliers deliver (default 300)")
    parser.add_argument("--seed", type=int, help="seed of the simulation's random numbers, to repeat a run")


def _speed(text: str) -> float:
    value = float(text)
    if not 0.01 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("speed must be between 0.01 and 1000000")
    return value


def _http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http:// or https:// url with a host: {text!r}")
    return text


def _version() -> str:
    try:
        return version("kanban-edge")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


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


def _cmd_simulate(args: argparse.Namespace) -> int:
    from edge.sim.run import run_simulation

    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    return _run_until_signal(lambda stop: run_simulation(config, stop, speed=args.speed, seed=args.seed))


def _cmd_central_signals(args: argparse.Namespace) -> int:
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
    return _run_until_signal(lambda stop: run_demo(
        config, stop, speed=args.speed, seed=args.seed, influx_url=args.influx_url, new_state=args.new_state
    ))


def _cmd_init(args: argparse.Namespace) -> int:
    from config.bundled import STARTER_PLANT

    target = args.directory / "plant.yaml"
    if target.exists():
        print(f"{target} exists: not overwritten", file=sys.stderr)
        return EXIT_CONFIG
    args.directory.mkdir(parents=True, exist_ok=True)
    target.write_text(STARTER_PLANT.read_text())
    print(f"wrote {target}: edit it, then `kanban-edge check-config {target}` and `kanban-edge run -c {target}`")
    return 0


def _cmd_backup(args: argparse.Namespace) -> int:
    from gateway.state.backup import BackupError, back_up

    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    try:
        for source, copy in back_up(config, args.directory):
            print(f"{source} -> {copy}")
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from gateway.export import KEY_VARIABLE, SIGNAL_FILTERS, ExportError, api_url, export_csv

    params = {name: str(value) for name in SIGNAL_FILTERS if (value := getattr(args, name)) is not None}
    if params and args.what != "signals":
        print(f"--{next(iter(params))} filters signals only", file=sys.stderr)
        return EXIT_CONFIG
    base_url = args.url
    if base_url is None:
        config = _load(args.config)
        if config is None:
            return EXIT_CONFIG
        base_url = api_url(config.api)
    key = os.environ.get(KEY_VARIABLE) or None
    try:
        if args.output is None:
            export_csv(base_url=base_url, what=args.what, params=params, out=sys.stdout.buffer, api_key=key)
        else:
            with args.output.open("wb") as out:
                export_csv(base_url=base_url, what=args.what, params=params, out=out, api_key=key)
    except (ExportError, OSError) as exc:
        print(f"kanban-edge export: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    return 0


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
