"""The service as a process, attacked where a single request or message used to stop it: it answers with a clear
error, goes on, takes the next valid input, and starts again after a kill -9 without looping."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rules.limits import MAX_COUNT
from tests.conftest import PLANT, Broker, Gateway, make_gateway, wait_for

pytestmark = pytest.mark.integration

FLOOR = PLANT + """\
plcs:
  - id: press1
    points:
      - {{name: parts_in, address: 0, type: uint32, counter: {{}}}}
      - {{name: parts_out, address: 2, type: uint32, counter: {{}}}}
stations:
  - {{id: S1, line: L1, in_counters: [press1/parts_in], out_counters: [press1/parts_out], wip_limit: 100}}
"""


@pytest.fixture
def plant(broker: Broker, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Gateway]:
    gw = make_gateway(tmp_path, broker.port, request.node.nodeid, FLOOR)
    gw.start()
    yield gw
    gw.stop()


def wip(gw: Gateway) -> int:
    [s1] = gw.get("/api/v1/stations").json()["stations"]
    return int(s1["wip"])


def count_in(broker: Broker, gw: Gateway, *values: int) -> None:
    broker.publish_many(f"{gw.prefix}/plc/press1/parts_in", [json.dumps({"value": v}) for v in values])


def test_a_wip_count_past_what_can_be_stored_is_refused_and_the_counters_go_on_counting(
    broker: Broker, plant: Gateway
) -> None:
    for too_big in (2**63, 2**63 - 1, MAX_COUNT + 1):  # once a crash, then a crash loop on the next step
        answer = plant.post("/api/v1/stations/S1/wip", {"wip": too_big})
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "invalid_request"
        assert "wip" in answer.json()["error"]["message"]
    assert plant.post("/api/v1/stations/S1/wip", {"wip": MAX_COUNT}).status_code == 200  # the most there can be
    count_in(broker, plant, 0, 5, 4_000_000_000)  # parts keep coming in: WIP stays at its most, nothing overflows
    wait_for(lambda: plant.get("/api/v1/counters").json()["processed_since_start"] >= 3, what="the counts")
    assert wip(plant) == MAX_COUNT
    assert plant.healthy()

    assert plant.kill(signal.SIGKILL) == -signal.SIGKILL
    plant.start()  # comes back, and stays up: no redelivered message stops it again
    count_in(broker, plant, 4_000_000_007)
    wait_for(lambda: plant.get("/api/v1/counters").json()["processed_since_start"] >= 1, what="the next count")
    time.sleep(0.5)
    assert plant.healthy()
    assert plant.post("/api/v1/stations/S1/wip", {"wip": 3}).status_code == 200
    assert wip(plant) == 3


def test_a_shipped_quantity_past_what_can_be_stored_is_refused_and_the_signal_moves_on(
    broker: Broker, plant: Gateway
) -> None:
    broker.publish_many(f"{plant.prefix}/scale/B1", [json.dumps({"weight_g": w}) for w in (1500, 750, 750)])
    signals = wait_for(lambda: plant.get("/api/v1/signals?status=open").json()["signals"], what="an open signal")
    assert isinstance(signals, list)
    ship = f"/api/v1/signals/{signals[0]['id']}/ship"

    answer = plant.post(ship, {"quantity": 10**30})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_request"
    shipped = plant.post(ship, {"quantity": 100, "asn": "ASN-1"})
    assert shipped.status_code == 200
    assert shipped.json()["status"] == "shipped"
    for alarm_id in (2**63, 2**64):
        assert plant.post(f"/api/v1/alarms/{alarm_id}/acknowledge", None).status_code == 422
    assert plant.healthy()


def test_a_64_mib_body_is_refused_with_413_before_it_is_read(plant: Gateway) -> None:
    assert plant.proc is not None
    peak_before = _peak_rss_kb(plant.proc.pid)
    big = b"{" + b" " * (64 << 20) + b"}"
    started = time.monotonic()
    answer = httpx.post(f"{plant.api}/api/v1/stations/S1/wip", content=big,
                        headers={"content-type": "application/json"}, timeout=30)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused once the bytes received pass the limit
        yield b'{"wip": 1, "pad": "'
        for _ in range(64):
            yield b"x" * (1 << 20)
        yield b'"}'

    try:
        streamed = httpx.post(f"{plant.api}/api/v1/stations/S1/wip", content=chunks(),
                              headers={"content-type": "application/json"}, timeout=30)
        assert streamed.status_code == 413
    except httpx.RemoteProtocolError:
        pass  # the server answered 413 and closed the connection while the client was still sending
    assert time.monotonic() - started < 10
    assert _peak_rss_kb(plant.proc.pid) - peak_before < 20_000  # far less than the body: it was never held
    assert plant.post("/api/v1/stations/S1/wip", {"wip": 7}).status_code == 200


def test_a_flood_of_bad_payloads_is_counted_and_dead_lettered_but_logged_a_line_at_a_time(
    broker: Broker, plant: Gateway
) -> None:
    before = plant.log.stat().st_size
    nested = "[" * 60_000  # under the payload limit, nested past any JSON parser's depth
    broker.publish_many(f"{plant.prefix}/scale/B1", [nested] * 300)
    broker.publish_many(f"{plant.prefix}/plc/press1/parts_in", ['{"value": ' + "9" * 5000 + "}"] * 300)

    def rejected() -> dict[str, int]:
        counts: dict[str, int] = plant.get("/api/v1/counters").json()["rejected"]
        return counts

    wait_for(lambda: sum(rejected().values()) >= 600, what="600 rejections")
    assert set(rejected()) <= {"invalid_json", "invalid_payload", "out_of_range"}
    grown = plant.log.stat().st_size - before
    assert grown < 4000, plant.log.read_text()[-4000:]  # a line per reason, each with a bounded excerpt
    assert plant.healthy()


def _peak_rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
