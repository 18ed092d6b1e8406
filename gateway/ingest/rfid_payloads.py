"""RFID reader payloads, pure: one MQTT message → the tag reads in it, whatever the reader's format.

Detected from the shape, as the vendors publish them:
- Zebra FX7500 / FX9600 / ATR7000 IoT Connector data events: `{"data": {"idHex", "antenna", "peakRssi",
  "eventNum", "format", ...}, "timestamp": "2023-02-24T10:14:42.851+0000", "type": "SIMPLE"}`, one object or a
  JSON array; events without `data.idHex` (heartbeats) carry no read.
- Impinj R700 IoT Device Interface: `{"timestamp", "hostname", "eventType": "tagInventory",
  "tagInventoryEvent": {"epcHex" or "epc" (base64), "antennaPort", "peakRssiCdbm", ...}}`, one object, an
  array or newline-delimited JSON; other event types (inventory status, ...) carry no read.
- Impinj Speedway Connect: `{"antennaPort", "epc": "<hex>", "firstSeenTimestamp", "peakRssi",
  "isHeartBeat"}`, one object, an array or `{"tagReads": [...]}`; heartbeats carry no read.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.ingest.errors import PayloadError, parse_json

_HEX = re.compile(r"^[0-9A-Fa-f]{4,124}$")
# Up to 9 fractional digits (R700), and zones as Z, +00:00 or +0000 (Zebra).
_ISO = re.compile(r"^(?P<base>[^.]+?)(?:\.(?P<frac>\d+))?(?P<zone>Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True, slots=True)
class TagRead:
    """One read of one tag by one antenna."""

    epc: str  # upper-case hex
    antenna: int | None
    ts: float | None  # reader time, when it says
    rssi_dbm: float | None


def decode_rfid(payload: bytes) -> list[TagRead]:
    """The tag reads in a reader message (empty for heartbeats), or `PayloadError` with the reason."""
    reads: list[TagRead] = []
    for event in _events(payload):
        reads.extend(_reads_of(event))
    return reads


def _events(payload: bytes) -> list[Any]:
    try:
        document = parse_json(payload)
    except PayloadError:
        lines = [line for line in payload.splitlines() if line.strip()]
        if len(lines) < 2:
            raise
        try:
            return [parse_json(line) for line in lines]  # newline-delimited JSON
        except PayloadError as line_exc:
            raise PayloadError("invalid_json", f"not JSON nor JSON lines: {line_exc.detail}") from line_exc
    return document if isinstance(document, list) else [document]


def _reads_of(event: Any) -> list[TagRead]:
    if not isinstance(event, dict):
        raise PayloadError("unknown_rfid_format", f"expected a JSON object per event, got {type(event).__name__}")
    if isinstance(event.get("data"), dict) or event.get("type") == "HEARTBEAT":
        return _zebra(event)
    if "eventType" in event:
        return _impinj_iot(event)
    if isinstance(event.get("tagReads"), list):
        return [read for item in event["tagReads"] for read in _reads_of(item)]
    if "isHeartBeat" in event or ("epc" in event and "antennaPort" in event):
        return _speedway(event)
    raise PayloadError(
        "unknown_rfid_format",
        f"not a Zebra IoT Connector, Impinj IoT Device Interface or Speedway Connect event (keys: {sorted(event)[:8]})",
    )


def _zebra(event: dict[str, Any]) -> list[TagRead]:
    data = event.get("data")
    if not isinstance(data, dict) or data.get("idHex") is None:
        return []  # heartbeat or another management event
    return [TagRead(_hex(data["idHex"]), _int(data.get("antenna")), _time(event.get("timestamp")),
                    _float(data.get("peakRssi")))]


def _impinj_iot(event: dict[str, Any]) -> list[TagRead]:
    if event["eventType"] != "tagInventory":
        return []
    tag = event.get("tagInventoryEvent")
    if not isinstance(tag, dict):
        raise PayloadError("invalid_payload", "tagInventory event without tagInventoryEvent")
    if tag.get("epcHex") is not None:
        epc = _hex(tag["epcHex"])
    elif isinstance(tag.get("epc"), str):
        try:
            epc = base64.b64decode(tag["epc"], validate=True).hex().upper()
        except (binascii.Error, ValueError) as exc:
            raise PayloadError("invalid_payload", "tagInventoryEvent.epc is not base64") from exc
    else:
        raise PayloadError("invalid_payload", "tagInventoryEvent has neither epcHex nor epc")
    rssi = _float(tag.get("peakRssiCdbm"))
    return [TagRead(epc, _int(tag.get("antennaPort")), _time(event.get("timestamp")),
                    rssi / 100.0 if rssi is not None else None)]


def _speedway(event: dict[str, Any]) -> list[TagRead]:
    if event.get("isHeartBeat") is True:
        return []
    if "epc" not in event:
        raise PayloadError("invalid_payload", "Speedway Connect read without epc")
    return [TagRead(_hex(event["epc"]), _int(event.get("antennaPort")), _time(event.get("firstSeenTimestamp")),
                    _float(event.get("peakRssi")))]


def _hex(value: Any) -> str:
    if not isinstance(value, str) or not _HEX.match(value) or len(value) % 2:
        raise PayloadError("invalid_payload", f"EPC is not an even number of hex digits: {value!r}"[:120])
    return value.upper()


def _int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError("invalid_payload", f"antenna is not a number: {value!r}")
    try:
        return int(value)
    except ValueError as exc:
        raise PayloadError("invalid_payload", f"antenna is not a number: {value!r}") from exc


def _float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PayloadError("invalid_payload", f"not a number: {value!r}")
    try:
        return float(value)
    except ValueError as exc:
        raise PayloadError("invalid_payload", f"not a number: {value!r}") from exc


def _time(value: Any) -> float | None:
    """ISO 8601 (up to 9 fractional digits, zone Z, ±hh:mm or ±hhmm; none means UTC) or epoch s / ms / µs."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        for scale in (1.0, 1e3, 1e6):
            if value / scale < 1e11:
                return value / scale
        return value / 1e9
    if not isinstance(value, str) or (match := _ISO.match(value.strip())) is None:
        raise PayloadError("invalid_payload", f"unreadable timestamp {value!r}"[:120])
    frac = (match["frac"] or "0")[:6].ljust(6, "0")
    zone = match["zone"] or "Z"
    zone = "+00:00" if zone == "Z" else (zone if ":" in zone else f"{zone[:3]}:{zone[3:]}")
    try:
        parsed = datetime.fromisoformat(f"{match['base']}.{frac}{zone}")
    except ValueError as exc:
        raise PayloadError("invalid_payload", f"unreadable timestamp {value!r}"[:120]) from exc
    return parsed.astimezone(UTC).timestamp()
