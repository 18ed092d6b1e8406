"""RFID tag reads as the readers the service accepts publish them, pure: Zebra IoT Connector, Impinj R700 IoT
Device Interface and Impinj Speedway Connect (gateway/ingest/rfid_payloads.py decodes all three)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

ReadFormat = Callable[[str, int, float], bytes]
"""Builds a reader's message for one read: EPC (hex), antenna, epoch seconds."""


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def zebra(epc: str, antenna: int, ts: float) -> bytes:
    """A Zebra FX7500/FX9600 IoT Connector data event."""
    stamp = _iso(ts).replace("+00:00", "+0000")
    return json.dumps({"data": {"idHex": epc, "antenna": antenna, "peakRssi": -52, "eventNum": int(ts) % 65536,
                                "format": "epc"}, "timestamp": stamp, "type": "SIMPLE"}).encode()


def impinj_iot(epc: str, antenna: int, ts: float) -> bytes:
    """An Impinj R700 IoT Device Interface tag inventory event."""
    return json.dumps({"timestamp": _iso(ts).replace("+00:00", "Z"), "hostname": "impinj-r700",
                       "eventType": "tagInventory",
                       "tagInventoryEvent": {"epcHex": epc, "antennaPort": antenna, "peakRssiCdbm": -5400}}).encode()


def speedway(epc: str, antenna: int, ts: float) -> bytes:
    """An Impinj Speedway Connect read (microseconds since the epoch)."""
    return json.dumps({"epc": epc, "antennaPort": antenna, "firstSeenTimestamp": int(ts * 1e6),
                       "peakRssi": -55, "isHeartBeat": False}).encode()


FORMATS: tuple[ReadFormat, ...] = (zebra, impinj_iot, speedway)
"""A plant file does not say which make a reader is: the simulator gives its readers these in turn."""

HEARTBEATS: dict[ReadFormat, bytes] = {
    zebra: json.dumps({"type": "HEARTBEAT", "data": {}}).encode(),
    impinj_iot: json.dumps({"eventType": "inventoryStatus", "inventoryStatusEvent": {"status": "running"}}).encode(),
    speedway: json.dumps({"isHeartBeat": True}).encode(),
}
"""What each reader sends when it has read nothing for a while: the service reads no card from it."""
