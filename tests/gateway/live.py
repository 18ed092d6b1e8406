"""A service whose parts run on an event loop of their own (committer, connectors and its HTTP server on a free
port, with no broker): MQTT payloads are handed to the ingest as the broker link hands them, requests go to the
real server. For tests that send a service many messages or requests quickly, in process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx

from config.plant import PlantConfig
from gateway.plant import Plant
from gateway.service import Service
from tests.conftest import free_port, wait_for

T = TypeVar("T")

SGTIN = "3074257BF7194E4000001A85"  # an SGTIN-96 of GTIN 80614141123458 (the item WASHER)
PLANT: dict[str, Any] = {
    "site": "hostile",
    "suppliers": [{"id": "acme", "name": "ACME", "lead_time_h": 24,
                   "webhook": {"url": "http://127.0.0.1:9/kanban", "secret": "s" * 16, "retry_initial_s": 60}}],
    "items": [{"sku": "BOLT", "unit_weight_g": 10, "supplier": "acme"},
              {"sku": "WASHER", "unit_weight_g": 1.5, "supplier": "acme", "gtin": "80614141123458"}],
    "bins": [
        {"id": "B1", "sku": "BOLT", "line": "L1", "station": "S1", "container_qty": 100, "cards": 2,
         "reorder_point": 30, "debounce": {"readings": 1}, "scale": {"tare_g": 500}},
        {"id": "B2", "sku": "BOLT", "line": "L1", "station": "S2", "container_qty": 100, "reorder_point": 30,
         "scale": {"tare_g": 500, "topic": "tele/hx711/SENSOR"}},
        {"id": "W1", "sku": "WASHER", "line": "L2", "station": "S3", "container_qty": 500, "cards": 2,
         "reorder_point": 100, "receive_by_scale": False},
    ],
    "plcs": [{"id": "P1", "points": [
        {"name": "loaded", "address": 0, "type": "uint32", "counter": {}},
        {"name": "good", "address": 2, "type": "uint64", "counter": {"max_step": 2**53 - 1}},
        {"name": "call", "table": "discrete", "address": 0, "type": "bool"},
        {"name": "temp", "table": "input", "address": 0, "type": "int16", "scale": 0.1},
    ]}],
    "stations": [{"id": "S1", "line": "L1", "in_counters": ["P1/loaded"], "out_counters": ["P1/good"],
                  "wip_warning": 40, "wip_limit": 50, "material_call": "P1/call"},
                 {"id": "S2", "line": "L1", "in_counters": ["P1/good"], "wip_limit": 100}],
    "rfid": {"readers": [{"id": "post", "role": "kanban_post"}, {"id": "dock", "role": "receiving"}],
             "tags": [{"epc": "E28011606000020A1B2C3D01", "loop": "W1", "card": 1}]},
    "targets": [{"id": "erp", "retry_initial_s": 60,
                 "create": {"url": "http://127.0.0.1:9/{{ sku }}", "document_id": "response.id"}}],
}


class LiveService:
    """A service whose parts run on a thread's event loop; input is handed to them from the test."""

    def __init__(self, tmp_path: Path, plant: dict[str, Any] | None = None) -> None:
        sections = dict(PLANT if plant is None else plant)
        sections["storage"] = {"path": str(tmp_path / "state.db")}
        sections["api"] = {"host": "127.0.0.1"} | sections.get("api", {}) | {"port": free_port()}
        config = PlantConfig.model_validate(sections)
        self.service = Service(Plant.of(config))
        self.prefix = config.prefix
        self.url = f"http://127.0.0.1:{config.api.port}"
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="service-loop", daemon=True)
        self._thread.start()
        self.tasks = self.run(self._start())
        wait_for(lambda: self.service.api.started, what="the API to listen")
        self.http = httpx.Client(base_url=self.url, timeout=30)

    async def _start(self) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(self.service.committer.run(), name="committer"),
                asyncio.create_task(self.service.connectors.run(), name="connectors"),
                asyncio.create_task(self.service.api.run(), name="http-api")]

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def publish(self, topic: str, payload: bytes) -> None:
        """One QoS 1 message, as the broker link hands it over; returns once its effects are committed."""
        async def handle() -> None:
            self.service.ingest.handle(topic, payload, lambda: None)
            await self.service.committer.drain()

        self.run(handle())

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)

    def next_count(self) -> int:
        """A counter value one step on from the last one this test sent."""
        self._count = getattr(self, "_count", 0) + 7
        return self._count

    def defects(self) -> tuple[int, int]:
        """Messages refused as `unstorable` or rejected as `internal_error` so far: a defect each."""
        counts = self.service.rejections.counts
        return counts["unstorable"], counts["internal_error"]

    def assert_alive(self, defects_before: tuple[int, int]) -> None:
        """The committer and the connectors run, the database takes writes, and since `defects_before` no
        message was refused as unstorable nor failed inside the service."""
        for task in self.tasks:
            assert not task.done(), f"{task.get_name()} ended: {task.exception() if not task.cancelled() else ''}"
        assert self.service.committer.healthy, self.service.committer.last_error
        assert self.defects() == defects_before

    def close(self) -> None:
        async def stop() -> None:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

        self.http.close()
        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.service.connectors.close()
        self.service.store.close()
