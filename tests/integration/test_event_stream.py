"""GET /api/v1/events on a running service: live SSE, resume with Last-Event-ID, filters, slow clients."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PLANT, Broker, Gateway, make_gateway, messages, wait_for

pytestmark = pytest.mark.integration

# B1: tare 500 g, 10 g per piece, reorder point 30, reset point 60, debounce 2 readings.
FULL = 500 + 100 * 10
LOW = 500 + 25 * 10
CYCLE = [FULL, FULL, LOW, LOW]  # the refill receives the open card (if any), the drain releases the next

Message = tuple[str | None, str, dict[str, Any]]


class EventClient:
    """A client of /api/v1/events reading in its own thread; `messages` holds what arrived so far."""

    def __init__(self, gw: Gateway, query: str = "", headers: dict[str, str] | None = None) -> None:
        self.messages: list[Message] = []
        self.status: int | None = None
        self.error: httpx.HTTPError | None = None  # how the stream broke, if it did not end cleanly
        self.ended = threading.Event()
        self._http = httpx.Client(base_url=gw.api, timeout=httpx.Timeout(5, read=None))
        self._closing = False
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._read, args=(f"/api/v1/events{query}", headers or {}))
        self._thread.start()

    def _read(self, path: str, headers: dict[str, str]) -> None:
        fields: dict[str, str] = {}
        try:
            with self._http.stream("GET", path, headers={"Accept": "text/event-stream", **headers}) as answer:
                self._socket = answer.extensions["network_stream"].get_extra_info("socket")
                self.status = answer.status_code  # connected: `close` can disconnect it from here on
                for line in answer.iter_lines():
                    if line.startswith(":"):
                        continue
                    if line:
                        name, _, value = line.partition(": ")
                        fields[name] = value
                    elif fields:
                        self.messages.append((fields.get("id"), fields["event"], json.loads(fields["data"])))
                        fields = {}
        except httpx.HTTPError as exc:
            if not self._closing:  # `close` ends the read with an error
                self.error = exc
        finally:
            self.ended.set()

    def ids(self) -> list[int]:
        return [int(m[0]) for m in self.messages if m[0] is not None]

    def close(self) -> None:
        """Disconnect, as a client that goes away does."""
        self._closing = True
        if self._socket is not None and not self.ended.is_set():
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the reading thread
        self._thread.join(timeout=10)
        assert not self._thread.is_alive()
        self._http.close()


def counters(gw: Gateway) -> dict[str, Any]:
    answer: dict[str, Any] = gw.get("/api/v1/counters").json()
    return answer


def clients(gw: Gateway) -> int:
    return int(counters(gw)["event_stream_clients"])


def connect(gw: Gateway, query: str = "", headers: dict[str, str] | None = None) -> EventClient:
    """A connected client, returned once the service counts it."""
    before = clients(gw)
    client = EventClient(gw, query, headers)
    wait_for(lambda: (client.status is not None and clients(gw) > before) or client.ended.is_set(),
             what="the stream client to be connected")
    assert client.status == 200
    return client


def received(client: EventClient, event_type: str, count: int = 1) -> list[Message]:
    def seen() -> list[Message]:
        found = [m for m in client.messages if m[1] == event_type]
        return found if len(found) >= count else []

    found = wait_for(seen, what=f"{count} {event_type} on the stream")
    assert isinstance(found, list)
    return found


def cycle(broker: Broker, gw: Gateway, times: int = 1, qos: int = 1) -> None:
    broker.publish_many(f"{gw.prefix}/scale/B1", [str(w) for _ in range(times) for w in CYCLE], qos=qos)


def test_signal_released_arrives_with_the_seq_and_body_of_the_mqtt_message(broker: Broker, gateway: Gateway) -> None:
    client = connect(gateway)
    sub = broker.subscribe(f"{gateway.prefix}/signal/B1", count=1)
    cycle(broker, gateway)
    [(seq, kind, body)] = received(client, "signal_released")
    [(_, published)] = messages(sub)
    assert (kind, body["bin_id"], body["pieces"]) == ("signal_released", "B1", 25)
    assert seq == str(published["seq"])
    assert body == published
    client.close()


def test_resume_with_last_event_id_gets_exactly_the_missed_events_then_live_ones(
    broker: Broker, gateway: Gateway
) -> None:
    reference = connect(gateway)  # connected throughout: everything committed from here
    first = connect(gateway)
    cycle(broker, gateway)
    [(last_id, _, _)] = received(first, "signal_released")
    first.close()
    wait_for(lambda: clients(gateway) == 1, what="the service to notice the disconnect")

    cycle(broker, gateway, times=3)  # missed: three refills and three releases (and Andon colours)
    missed = received(reference, "signal_released", count=4)[1:]
    assert last_id is not None
    resumed = connect(gateway, headers={"Last-Event-ID": last_id})
    after = connect(gateway, f"?after={last_id}")
    up_to = int(missed[-1][0] or 0)
    for client in (resumed, after):
        wait_for(lambda c=client: up_to in c.ids(), what="the missed events")  # type: ignore[misc]
    expected = [m for m in reference.messages if int(last_id) < int(m[0] or 0) <= up_to]
    assert [m for m in resumed.messages if int(m[0] or 0) <= up_to] == expected
    assert [m for m in after.messages if int(m[0] or 0) <= up_to] == expected
    assert [m[1] for m in expected if m[1].startswith("signal")] == ["signal_received", "signal_released"] * 3
    assert [m for m in expected if m[1] == "signal_released"] == missed

    cycle(broker, gateway)  # live again: once each, after the backlog
    [*_, (live_id, _, _)] = received(reference, "signal_released", count=5)
    wait_for(lambda: int(live_id or 0) in resumed.ids(), what="the live signal on the resumed stream")
    assert [i for i in resumed.ids() if i <= int(live_id or 0)] == [
        i for i in reference.ids() if int(last_id) < i <= int(live_id or 0)
    ]
    for client in (reference, resumed, after):
        client.close()


def test_type_filter_sends_only_the_listed_types(broker: Broker, gateway: Gateway) -> None:
    everything = connect(gateway)
    received_only = connect(gateway, "?type=signal_received, sensor_stale")
    on_line = connect(gateway, "?type=signal_received&line=L1")  # B1's line, by its loop
    cycle(broker, gateway, times=3)
    received(everything, "signal_released", count=3)
    received(received_only, "signal_received", count=2)
    received(on_line, "signal_received", count=2)
    assert [m[1] for m in received_only.messages] == ["signal_received", "signal_received"]
    assert [m for m in everything.messages if m[1] == "signal_received"] == received_only.messages
    assert on_line.messages == received_only.messages
    for client in (everything, received_only, on_line):
        client.close()


def test_unknown_event_type_or_line_answers_422_naming_it(gateway: Gateway) -> None:
    answer = gateway.get("/api/v1/events?type=signal_released,signal_closed")
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("type: unknown event type signal_closed; known: alarm_acknowledged")
    answer = gateway.get("/api/v1/events?line=L9")
    assert (answer.status_code, answer.json()["error"]["message"]) == (422, "line: unknown line L9; known: L1")


SMALL_QUEUE_PLANT = PLANT.replace(
    "api: {{host: 127.0.0.1, port: {api_port}}}",
    "api: {{host: 127.0.0.1, port: {api_port}, event_stream_max_queued: 20}}",
)


def stalled_client(gw: Gateway) -> socket.socket:
    """A plain HTTP/1.1 client of the stream that stops reading: a small receive window, nothing read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = gw.api.removeprefix("http://").split(":")
    sock.connect((host, int(port)))
    sock.sendall(f"GET /api/v1/events HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    return sock


def read_to_end(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_stalled_client_is_sent_overflow_and_dropped_while_others_keep_up(broker: Broker, tmp_path: Path) -> None:
    gw = make_gateway(tmp_path, broker.port, "overflow", SMALL_QUEUE_PLANT)
    gw.start()
    try:
        keeping_up = connect(gw)
        before = clients(gw)
        stalled = stalled_client(gw)
        wait_for(lambda: clients(gw) > before, what="the stalled client to be connected")
        deadline = time.monotonic() + 60
        while counters(gw)["event_stream_overflows"] == 0:  # its socket buffers fill up, then its queue
            assert time.monotonic() < deadline, "the stalled client was never dropped"
            sent = counters(gw)["processed_since_start"] + 1000 * len(CYCLE)
            cycle(broker, gw, times=1000, qos=0)  # QoS 0: not paced by acknowledgements held for commits
            wait_for(lambda: counters(gw)["processed_since_start"] >= sent, what="the readings")  # noqa: B023
        assert gw.healthy()
        assert clients(gw) == 1  # the stalled client left the fan-out at once

        text = read_to_end(stalled).decode()
        stalled.close()
        last_block = text.rstrip("\r\n0").rstrip().rsplit("\n\n", 1)[-1]
        assert "event: overflow" in last_block
        overflow = json.loads(last_block.split("data: ", 1)[1].splitlines()[0])
        sent_ids = [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]
        assert overflow["last_event_id"] == sent_ids[-1]
        assert f"Last-Event-ID: {sent_ids[-1]}" in overflow["message"]

        cycle(broker, gw)
        last = gw.get("/api/v1/signals?limit=1").json()["signals"][0]["id"]
        wait_for(lambda: any(m[2].get("signal_id") == last for m in keeping_up.messages), what="the last signal")
        assert keeping_up.ids() == list(range(keeping_up.ids()[0], keeping_up.ids()[-1] + 1))
        keeping_up.close()
    finally:
        gw.stop()


def test_stopping_the_service_ends_open_streams_promptly(broker: Broker, gateway: Gateway) -> None:
    client = connect(gateway)
    assert gateway.kill(signal.SIGTERM) == 0  # within the kill's deadline: the open stream does not hold it
    assert client.ended.wait(5), "the stream was still open after the service stopped"
    assert client.error is None  # the response was ended, not cut off
    client.close()
