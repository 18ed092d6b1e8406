"""The whole plant file: its sections, and what the service reads of them (topics, paths, loop records)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from config.analytics import AnalyticsConfig
from config.base import Ident, Section
from config.connectors import InfluxConfig, OutboxConfig
from config.floor import EdgeConfig, Plc, ScaleDevice, Station
from config.loops import Bin, Item, Supplier
from config.rfid import RfidConfig
from config.service import ApiConfig, IngestConfig, MqttConfig, StorageConfig
from config.sparkplug import SparkplugConfig
from config.targets import TargetConfig
from rules.scale_bin import BinSpec


class PlantConfig(Section):
    """A whole plant file."""

    site: Ident
    mqtt: MqttConfig = MqttConfig()
    storage: StorageConfig = StorageConfig()
    api: ApiConfig = ApiConfig()
    ingest: IngestConfig = IngestConfig()
    outbox: OutboxConfig = OutboxConfig()
    influx: InfluxConfig | None = None
    suppliers: list[Supplier] = []
    items: list[Item] = []
    bins: list[Bin] = []
    plcs: list[Plc] = []
    stations: list[Station] = []
    rfid: RfidConfig = RfidConfig()
    analytics: AnalyticsConfig = AnalyticsConfig()
    edge: EdgeConfig = EdgeConfig()
    scales: list[ScaleDevice] = []
    sparkplug: SparkplugConfig = SparkplugConfig()
    targets: list[TargetConfig] = []  # ERPs and other HTTP APIs (docs/ERP.md)

    @property
    def prefix(self) -> str:
        """Topic prefix: as configured, else kanban/<site>."""
        return self.mqtt.topic_prefix or f"kanban/{self.site}"

    @property
    def client_id(self) -> str:
        """MQTT client id: fixed, so the broker keeps the session across restarts."""
        return self.mqtt.client_id or f"kanban-edge-{self.site}"

    @property
    def outbox_path(self) -> Path:
        """The connectors' outbox: as configured, else next to the state database."""
        db = self.storage.path
        return self.outbox.path or db.with_name(f"{db.stem}-outbox.db")

    def scale_topic(self, bin_id: str, own_topic: str | None = None) -> str:
        """The topic a bin's scale publishes on: its own, else `<prefix>/scale/<bin id>`."""
        return own_topic or f"{self.prefix}/scale/{bin_id}"

    @cached_property
    def items_by_sku(self) -> dict[str, Item]:
        """Items keyed by sku."""
        return {item.sku: item for item in self.items}

    def bin_specs(self) -> list[BinSpec]:
        """One record per bin, all the running service keeps of it (`gateway.plant`)."""
        items = self.items_by_sku
        return [
            BinSpec(
                bin_id=b.id,
                unit_weight_g=items[b.sku].unit_weight_g,
                tare_g=b.scale.tare_g,
                container_qty=b.container_qty,
                cards=b.cards,
                reorder_point=b.reorder_point,
                reset_point=b.reset,
                capacity_pieces=b.capacity,
                debounce_s=b.debounce.seconds,
                debounce_readings=b.debounce.readings,
                stale_after_s=b.stale_after_s,
                zero_tolerance_g=b.scale.zero_tolerance_g,
                safety_stock=b.safety_stock,
                receive_tolerance=b.receive_tolerance,
                receive_by_scale=b.receive_by_scale,
                sku=b.sku,
                line=b.line,
                station=b.station,
                supplier=items[b.sku].supplier,
                scale_topic=b.scale.topic,
                predictive_margin_h=b.predictive_margin_h,
            )
            for b in self.bins
        ]

