"""Reader payloads as Zebra, Impinj R700 and Speedway Connect publish them, detected from their shape."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from gateway.ingest.errors import PayloadError
from gateway.ingest.rfid_payloads import TagRead, decode_rfid

EPC = "3074257BF7194E4000001A85"


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


ZEBRA = {
    "data": {"eventNum": 731, "format": "epc", "idHex": EPC.lower(), "antenna": 2, "peakRssi": -54,
             "channel": 915.25, "reads": 3},
    "timestamp": "2023-02-24T10:14:42.851+0000",
    "type": "SIMPLE",
}
ZEBRA_HEARTBEAT = {"data": {"radio_control": {"cpu": 12}}, "timestamp": "2023-02-24T10:15:00.000+0000",
                   "type": "HEARTBEAT"}
R700 = {
    "timestamp": "2024-03-01T08:00:00.123456789Z",
    "hostname": "impinj-14-46-36",
    "eventType": "tagInventory",
    "tagInventoryEvent": {"epcHex": EPC, "antennaPort": 1, "antennaName": "Antenna 1", "peakRssiCdbm": -5250},
}
SPEEDWAY = {"antennaPort": 3, "epc": EPC, "firstSeenTimestamp": 1709280000123456, "peakRssi": -61,
            "isHeartBeat": False}


def test_zebra_iot_connector_event() -> None:
    [read] = decode_rfid(json.dumps(ZEBRA).encode())
    assert read == TagRead(EPC, 2, ts("2023-02-24T10:14:42.851"), -54.0)


def test_zebra_array_with_a_heartbeat_gives_only_the_tag_reads() -> None:
    second = ZEBRA | {"data": ZEBRA["data"] | {"idHex": "E2801160600002054E7F8A1B", "antenna": 1}}
    reads = decode_rfid(json.dumps([ZEBRA, ZEBRA_HEARTBEAT, second]).encode())
    assert [(r.epc, r.antenna) for r in reads] == [(EPC, 2), ("E2801160600002054E7F8A1B", 1)]
    assert decode_rfid(json.dumps(ZEBRA_HEARTBEAT).encode()) == []


def test_impinj_r700_event_with_nanosecond_timestamp() -> None:
    [read] = decode_rfid(json.dumps(R700).encode())
    assert read == TagRead(EPC, 1, ts("2024-03-01T08:00:00.123456"), -52.5)


def test_impinj_r700_base64_epc_array_and_ndjson() -> None:
    b64 = R700 | {"tagInventoryEvent": {"epc": base64.b64encode(bytes.fromhex(EPC)).decode(), "antennaPort": 2}}
    status = {"timestamp": "2024-03-01T08:00:01Z", "eventType": "inventoryStatus",
              "inventoryStatusEvent": {"inventoryStatus": "running"}}
    as_array = decode_rfid(json.dumps([R700, b64, status]).encode())
    as_lines = decode_rfid("\n".join(json.dumps(e) for e in (R700, b64, status)).encode() + b"\n")
    assert as_array == as_lines
    assert [(r.epc, r.antenna) for r in as_array] == [(EPC, 1), (EPC, 2)]


def test_speedway_connect_reads_heartbeats_and_batches() -> None:
    [read] = decode_rfid(json.dumps(SPEEDWAY).encode())
    assert read == TagRead(EPC, 3, 1709280000.123456, -61.0)
    assert decode_rfid(json.dumps(SPEEDWAY | {"isHeartBeat": True}).encode()) == []
    batch = {"readerName": "dock-1", "tagReads": [SPEEDWAY, SPEEDWAY | {"antennaPort": 4}]}
    assert [r.antenna for r in decode_rfid(json.dumps(batch).encode())] == [3, 4]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "invalid_json"),
        (b'{"tag": "3074"}', "unknown_rfid_format"),
        (b"[1, 2]", "unknown_rfid_format"),
        (json.dumps(ZEBRA | {"data": {"idHex": "XYZ"}}).encode(), "invalid_payload"),
        (json.dumps(R700 | {"tagInventoryEvent": {"antennaPort": 1}}).encode(), "invalid_payload"),
        (json.dumps(R700 | {"timestamp": "yesterday"}).encode(), "invalid_payload"),
    ],
)
def test_bad_payloads_are_rejected_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        decode_rfid(payload)
    assert caught.value.reason == reason
