"""PLCs read over OPC UA in the plant file: `check-config` names file, line, field and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncua import ua

from config.floor import counter_specs
from config.load import load_config
from config.opcua import check_node_id
from gateway.cli import main
from rules.counters import CounterSpec
from tests.config.test_floor import issues_of, replace_line

# Line numbers are part of the contract.
GOOD = """\
site: t
plcs:
  - id: press2
    opcua:
      endpoint: opc.tcp://10.0.0.30:4840
      security:
        policy: Basic256Sha256
        mode: SignAndEncrypt
        certificate: {certs}/client.der
        private_key: {certs}/client.pem
        server_certificate: {certs}/server.der
      user: {{name: edge, password: secret}}
    poll_interval_s: 0.5
    points:
      - {{name: parts_in, node: 'ns=3;s="DB_Counters"."PartsIn"', type: uint32, counter: {{}}}}
      - {{name: parts_out, node: "ns=3;i=1002", type: uint32, counter: {{}}}}
      - {{name: call, node: "ns=3;s=Station1.MaterialCall", type: bool}}
    lights:
      - {{station: L1/S1, node: "ns=3;s=Station1.Andon"}}
      - {{station: L1/S2, lamp_nodes: {{green: "ns=3;s=S2.Green", red: "ns=3;s=S2.Red"}}}}
stations:
  - {{id: S1, line: L1, in_counters: [press2/parts_in], out_counters: [press2/parts_out], material_call: press2/call}}
  - {{id: S2, line: L1}}
"""


@pytest.fixture
def good(tmp_path: Path) -> str:
    for name in ("client.der", "client.pem", "server.der"):
        (tmp_path / name).write_bytes(b"stand-in: only the file's presence is checked here")
    return GOOD.format(certs=tmp_path)


def test_an_opcua_plc_feeds_stations_like_a_modbus_one(tmp_path: Path, good: str) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(good)
    config = load_config(path)
    [plc] = config.plcs
    assert plc.polled
    assert plc.opcua is not None
    assert plc.opcua.user is not None
    assert plc.opcua.user.password is not None
    assert plc.opcua.user.password.get_secret_value() == "secret"
    assert "secret" not in repr(plc)
    nodes = ['ns=3;s="DB_Counters"."PartsIn"', "ns=3;i=1002", "ns=3;s=Station1.MaterialCall"]
    assert [p.node for p in plc.points] == nodes
    assert counter_specs(config.plcs)[0] == CounterSpec("press2/parts_in", max_value=4_294_967_295, max_step=10_000)


@pytest.mark.parametrize(
    ("line", "new", "path", "reason"),
    [
        (15, "      - {name: parts_in, node: 'ns=3;x=PartsIn', type: uint32, counter: {}}",
         "plcs[0].points[0].node", "not an OPC UA node id: 'ns=3;x=PartsIn'"),
        (16, "      - {name: parts_out, node: 'ns=70000;i=1', type: uint32, counter: {}}",
         "plcs[0].points[1].node", "namespace index 70000 is above 65535"),
        (16, "      - {name: parts_out, node: 'i=4294967296', type: uint32, counter: {}}",
         "plcs[0].points[1].node", "numeric identifier 4294967296 is above 4294967295"),
        (19, "      - {station: L1/S1, node: 'ns=3;s='}", "plcs[0].lights[0].node", "not an OPC UA node id"),
        (15, "      - {name: parts_in, node: 'ns=3;i=1', address: 4, type: uint32, counter: {}}",
         "plcs[0].points[0]", "an OPC UA point (node) has no Modbus address"),
        (15, "      - {name: parts_in, address: 4, type: uint32, counter: {}}",
         "plcs[0]", "point parts_in: an OPC UA PLC's points need node"),
        (19, "      - {station: L1/S1, holding_register: 50}",
         "plcs[0]", "stack light L1/S1: an OPC UA PLC's points need node, its lights lamp_nodes or node"),
        (16, "      - {name: parts_out, node: 'ns=3;s=\"DB_Counters\".\"PartsIn\"', type: uint32, counter: {}}",
         "plcs[0]", 'points read ns=3;s="DB_Counters"."PartsIn" twice: one point per node'),
        (5, "      endpoint: http://10.0.0.30:4840", "plcs[0].opcua.endpoint", "must be an opc.tcp:// URL"),
        (7, "        policy: Basic128Rsa15", "plcs[0].opcua.security.policy", "Input should be 'Basic256Sha256'"),
        (8, "        mode: None", "plcs[0].opcua.security.mode", "Input should be 'Sign' or 'SignAndEncrypt'"),
        (12, "      user: {name: edge}", "plcs[0].opcua.user", "a user needs both name and password"),
        (13, "    port: 4840", "plcs[0]", "an OPC UA PLC has no Modbus port"),
    ],
)
def test_errors_are_located(tmp_path: Path, good: str, line: int, new: str, path: str, reason: str) -> None:
    [issue] = issues_of(tmp_path, replace_line(good, line, new))
    assert issue.path == path
    assert reason in issue.reason
    assert issue.line == (line if "." in path else 3)


def test_missing_security_files_are_named(tmp_path: Path, good: str) -> None:
    (tmp_path / "client.pem").unlink()
    (tmp_path / "server.der").unlink()
    issues = {(i.line, i.path): i.reason for i in issues_of(tmp_path, good)}
    assert issues == {
        (10, "plcs[0].opcua.security.private_key"): f"file not found: {tmp_path}/client.pem",
        (11, "plcs[0].opcua.security.server_certificate"): f"file not found: {tmp_path}/server.der",
    }


def test_a_node_on_a_plc_without_opcua_is_an_error(tmp_path: Path) -> None:
    text = (
        "site: t\nplcs:\n  - id: press1\n    host: 10.0.0.21\n    points:\n"
        "      - {name: parts_in, node: 'ns=3;i=1', type: uint32}\n"
    )
    [issue] = issues_of(tmp_path, text)
    assert (issue.line, issue.path) == (3, "plcs[0]")
    assert issue.reason == "point parts_in: OPC UA nodes need the PLC's opcua: endpoint"
    both = text.replace("    points:", "    opcua: {endpoint: 'opc.tcp://10.0.0.21:4840'}\n    points:")
    [issue] = issues_of(tmp_path, both)
    assert issue.reason == "give host (Modbus TCP), serial (Modbus RTU) or opcua, only one of them"


def test_check_config_prints_file_line_and_reason(
    tmp_path: Path, good: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(replace_line(good, 15, "      - {name: parts_in, node: 'PartsIn', type: uint32, counter: {}}"))
    assert main(["check-config", str(path)]) != 0
    err = capsys.readouterr().err
    assert f"{path}:15: plcs[0].points[0].node: not an OPC UA node id: 'PartsIn'" in err


@pytest.mark.parametrize(
    "node",
    [
        "i=2258", "ns=2;i=1001", 'ns=3;s="DB_Counters"."PartsIn"', "ns=1;s=a;b=c",
        "ns=4;g=09087e75-8e5e-499b-954f-f2a9603db28a", "ns=2;b=M/RbKBsRVkePCePcx24oRA==", "ns=65535;i=4294967295",
        "s=Ünïcode name",
    ],
)
def test_node_ids_taken_are_those_asyncua_reads(node: str) -> None:
    assert check_node_id(node) == node
    assert type(ua.NodeId.from_string(node)) is ua.NodeId  # a plain node id the client can read


@pytest.mark.parametrize(
    "node", ["", "PartsIn", "ns=;i=1", "ns=2;i=-1", "ns=2;i=x", "ns=2;g=1234", "ns=2;b=", "ns=2; s=x", "nsu=urn:x;s=y"]
)
def test_malformed_node_ids_are_refused(node: str) -> None:
    with pytest.raises(ValueError, match="not an OPC UA node id"):
        check_node_id(node)
