"""load_config: the plant file is validated as a whole, and every error says file, line, field and why."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from config.load import ConfigError, ConfigIssue, load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example-plant.yaml"

# Line numbers are part of the contract: the comments give each line's number.
GOOD = """\
site: t
mqtt:
  url: mqtt://broker.local:1883
suppliers:
  - id: acme
    name: ACME
    lead_time_h: 24
items:
  - sku: BOLT
    unit_weight_g: 10
    supplier: acme
bins:
  - id: B1
    sku: BOLT
    line: L1
    station: S1
    container_qty: 100
    reorder_point: 30
  - id: B2
    sku: BOLT
    line: L1
    station: S2
    container_qty: 100
    reorder_point: 30
"""
#  1 site            13 - id: B1
#  2 mqtt            14   sku
#  3   url           15   line
#  4 suppliers       16   station
#  5 - id: acme      17   container_qty
#  6   name          18   reorder_point
#  7   lead_time_h   19 - id: B2
#  8 items           20   sku
#  9 - sku: BOLT     21   line
# 10   unit_weight_g 22   station
# 11   supplier      23   container_qty
# 12 bins            24   reorder_point


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def issues_of(path: Path, env: dict[str, str] | None = None) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={} if env is None else env)
    return info.value.issues


def only_issue(path: Path, env: dict[str, str] | None = None) -> ConfigIssue:
    issues = issues_of(path, env)
    assert len(issues) == 1, issues
    return issues[0]


def replace_line(text: str, number: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[number - 1] = new + "\n"
    return "".join(lines)


# --- the example plant ---------------------------------------------------------------------------------


def test_example_plant_loads() -> None:
    config = load_config(EXAMPLE, env={})
    assert config.site == "demo-plant"
    assert len(config.bins) == 5
    assert len(config.items) == 3
    assert len(config.suppliers) == 2
    assert config.prefix == "kanban/demo-plant"
    assert config.client_id == "kanban-edge-demo-plant"
    assert config.mqtt.host == "localhost"
    assert config.mqtt.port == 1883
    assert config.mqtt.use_tls is False


def test_example_plant_derived_reset_points() -> None:
    config = load_config(EXAMPLE, env={})
    by_id = {b.id: b for b in config.bins}
    # reorder + ceil(container_qty / 2), capped at capacity - 1
    assert by_id["L1-S1-M8X20"].reset == 60 + 100
    assert by_id["L1-S1-WASHER"].reset == 150 + 250
    assert by_id["L1-S2-CLIP"].reset == 80  # configured
    assert by_id["L2-S3-CLIP"].reset == 30 + 50
    for b in config.bins:
        if b.reset_point is None:
            expected = min(b.reorder_point + math.ceil(b.container_qty / 2), b.capacity - 1)
            assert b.reset == expected
        assert b.reorder_point < b.reset < b.capacity


def test_example_plant_bin_specs_and_topics() -> None:
    config = load_config(EXAMPLE, env={})
    specs = {s.bin_id: s for s in config.bin_specs()}
    m8 = specs["L2-S1-M8X20"]
    assert (m8.unit_weight_g, m8.tare_g, m8.reorder_point, m8.reset_point) == (11.2, 850, 60, 160)
    assert (m8.debounce_readings, m8.debounce_s) == (3, 2.0)
    assert specs["L1-S2-CLIP"].capacity_pieces == 200  # 2 cards of 100
    assert specs["L2-S3-CLIP"].stale_after_s == 120
    topics = {b.id: config.scale_topic(b.id, b.scale.topic) for b in config.bins}
    assert topics["L1-S1-M8X20"] == "kanban/demo-plant/scale/L1-S1-M8X20"
    assert topics["L2-S3-CLIP"] == "tele/tasmota-hx711-7/SENSOR"


def test_derived_reset_point_is_capped_below_capacity(tmp_path: Path) -> None:
    text = GOOD.replace("    reorder_point: 30\n  - id: B2", "    reorder_point: 70\n  - id: B2")
    config = load_config(write(tmp_path, text), env={})
    assert config.bins[0].reset == 99  # min(70 + 50, 100 - 1)
    assert config.bins[1].reset == 80


def test_good_file_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), env={})
    assert [b.id for b in config.bins] == ["B1", "B2"]
    assert config.mqtt.host == "broker.local"


# --- located errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "new", "path"),
    [
        (1, "sitee: t", "sitee"),
        (3, "  urll: mqtt://broker.local:1883", "mqtt.urll"),
        (6, "    nmae: ACME", "suppliers[0].nmae"),
        (10, "    unit_weight: 10", "items[0].unit_weight"),
        (18, "    reorder_point: 30\n    debounce: {readings: 2, secnds: 1}", "bins[0].debounce.secnds"),
        (24, "    reorder_point: 30\n    scale: {tare: 500}", "bins[1].scale.tare"),
    ],
)
def test_unknown_key_is_located(tmp_path: Path, line: int, new: str, path: str) -> None:
    file = write(tmp_path, replace_line(GOOD, line, new))
    issues = [i for i in issues_of(file) if i.path == path]
    assert len(issues) == 1, issues_of(file)
    issue = issues[0]
    assert issue.file == str(file)
    assert issue.line == line + new.count("\n")
    assert "unknown field" in issue.reason


def test_typo_in_required_field_reports_both_the_typo_and_the_missing_field(tmp_path: Path) -> None:
    file = write(tmp_path, replace_line(GOOD, 18, "    reorder_pont: 30"))
    issues = {(i.line, i.path): i.reason for i in issues_of(file)}
    assert "unknown field" in issues[(18, "bins[0].reorder_pont")]
    assert "missing" in issues[(13, "bins[0].reorder_point")]  # located at the bin


def test_duplicate_bin_id(tmp_path: Path) -> None:
    file = write(tmp_path, replace_line(GOOD, 19, "  - id: B1"))
    issues = issues_of(file)
    dup = [i for i in issues if i.path == "bins[1].id"]
    assert len(dup) == 1
    assert dup[0].line == 19
    assert "duplicate" in dup[0].reason
    assert "'B1'" in dup[0].reason


def test_duplicate_sku(tmp_path: Path) -> None:
    text = GOOD.replace("bins:\n", "  - sku: BOLT\n    unit_weight_g: 12\nbins:\n")
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.path) == (12, "items[1].sku")
    assert "duplicate sku 'BOLT'" in issue.reason


def test_duplicate_supplier_id(tmp_path: Path) -> None:
    text = GOOD.replace("items:\n", "  - {id: acme, name: Other, lead_time_h: 1}\nitems:\n")
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.path) == (8, "suppliers[1].id")
    assert "duplicate id 'acme'" in issue.reason


def test_unknown_sku(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, replace_line(GOOD, 20, "    sku: NUT")))
    assert (issue.line, issue.path) == (20, "bins[1].sku")
    assert "unknown sku 'NUT'" in issue.reason


def test_unknown_supplier(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, replace_line(GOOD, 11, "    supplier: bob")))
    assert (issue.line, issue.path) == (11, "items[0].supplier")
    assert "unknown supplier 'bob'" in issue.reason


@pytest.mark.parametrize("reorder", [100, 150])
def test_reorder_point_not_below_container_qty(tmp_path: Path, reorder: int) -> None:
    issue = only_issue(write(tmp_path, replace_line(GOOD, 24, f"    reorder_point: {reorder}")))
    assert (issue.line, issue.path) == (24, "bins[1].reorder_point")
    assert "container_qty" in issue.reason


@pytest.mark.parametrize("reset", [30, 10])
def test_reset_point_not_above_reorder_point(tmp_path: Path, reset: int) -> None:
    text = replace_line(GOOD, 18, f"    reorder_point: 30\n    reset_point: {reset}")
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.path) == (19, "bins[0].reset_point")
    assert "above reorder_point" in issue.reason


def test_reset_point_not_below_capacity(tmp_path: Path) -> None:
    text = replace_line(GOOD, 18, "    reorder_point: 30\n    reset_point: 100")
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.path) == (19, "bins[0].reset_point")
    assert "capacity" in issue.reason


def test_safety_stock_not_above_reorder_point(tmp_path: Path) -> None:
    text = replace_line(GOOD, 18, "    reorder_point: 30\n    safety_stock: 31")
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.path) == (19, "bins[0].safety_stock")
    assert "reorder_point" in issue.reason


def test_hysteresis_of_a_multi_card_loop_is_less_than_a_container(tmp_path: Path) -> None:
    text = replace_line(GOOD, 18, "    reorder_point: 30\n    cards: 3\n    reset_point: 130")
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.path) == (20, "bins[0].reset_point")
    assert "less than a container above reorder_point" in issue.reason


def test_loop_settings_reach_the_rules(tmp_path: Path) -> None:
    text = replace_line(
        GOOD, 18, "    reorder_point: 30\n    safety_stock: 5\n    receive_by_scale: false\n    receive_tolerance: 0.1"
    )
    spec = load_config(write(tmp_path, text)).bin_specs()[0]
    assert (spec.safety_stock, spec.receive_by_scale, spec.receive_tolerance) == (5, False, 0.1)


def test_two_bins_on_the_same_scale_topic(tmp_path: Path) -> None:
    text = GOOD + "    scale: {topic: kanban/t/scale/B1}\n"
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.path) == (25, "bins[1].scale.topic")
    assert "kanban/t/scale/B1" in issue.reason
    assert "B1" in issue.reason


def test_an_own_topic_on_a_later_bins_standard_topic_is_reported_where_it_is_set(tmp_path: Path) -> None:
    text = replace_line(GOOD, 18, "    reorder_point: 30\n    scale: {topic: kanban/t/scale/B2}")
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.path) == (19, "bins[0].scale.topic")
    assert "used by bin B2" in issue.reason


def test_a_bin_may_take_the_standard_topic_of_a_bin_that_has_a_topic_of_its_own(tmp_path: Path) -> None:
    text = replace_line(GOOD, 18, "    reorder_point: 30\n    scale: {topic: kanban/t/scale/B2}")
    text += "    scale: {topic: tele/hx/SENSOR}\n"
    config = load_config(write(tmp_path, text))
    assert [config.scale_topic(b.id, b.scale.topic) for b in config.bins] == ["kanban/t/scale/B2", "tele/hx/SENSOR"]


def test_two_bins_on_the_same_explicit_topic(tmp_path: Path) -> None:
    text = replace_line(GOOD, 18, "    reorder_point: 30\n    scale: {topic: tele/hx/SENSOR}")
    text += "    scale:\n      topic: tele/hx/SENSOR\n"
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.path) == (27, "bins[1].scale.topic")


def test_env_variable_is_substituted(tmp_path: Path) -> None:
    text = replace_line(GOOD, 3, "  url: mqtt://${MQTT_HOST}:${MQTT_PORT}")
    text += "api:\n  port: ${API_PORT}\n"
    config = load_config(write(tmp_path, text), env={"MQTT_HOST": "10.0.0.5", "MQTT_PORT": "1884", "API_PORT": "9000"})
    assert config.mqtt.url == "mqtt://10.0.0.5:1884"
    assert config.mqtt.port == 1884
    assert config.api.port == 9000


def test_env_mapping_argument_is_used_not_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANBAN_TEST_HOST", "from-process")
    file = write(tmp_path, replace_line(GOOD, 3, "  url: mqtt://${KANBAN_TEST_HOST}"))
    assert load_config(file, env={"KANBAN_TEST_HOST": "from-arg"}).mqtt.host == "from-arg"
    issue = only_issue(file, env={})
    assert "KANBAN_TEST_HOST" in issue.reason


def test_missing_env_variable_reported_once_with_its_line(tmp_path: Path) -> None:
    text = GOOD + "    scale:\n      tare_g: 500\n      topic: ${SCALE_TOPIC}\n"
    issue = only_issue(write(tmp_path, text))  # the empty value is not reported a second time
    assert issue.line == 27
    assert issue.path == "bins[1].scale.topic"
    assert issue.reason == "environment variable SCALE_TOPIC is not set"


def test_each_missing_env_variable_is_reported(tmp_path: Path) -> None:
    file = write(tmp_path, replace_line(GOOD, 3, "  url: mqtt://${HOST}:${PORT}"))
    issues = issues_of(file)
    assert [(i.line, i.path) for i in issues] == [(3, "mqtt.url"), (3, "mqtt.url")]
    assert {i.reason for i in issues} == {
        "environment variable HOST is not set",
        "environment variable PORT is not set",
    }


@pytest.mark.parametrize(
    ("line", "new"),
    [
        (17, "    container_qty: [100"),
        (10, "    unit_weight_g: 10\n      oops: 1"),
        (6, "\tname: ACME"),
    ],
)
def test_yaml_syntax_error_has_its_line(tmp_path: Path, line: int, new: str) -> None:
    file = write(tmp_path, replace_line(GOOD, line, new))
    issue = only_issue(file)
    assert issue.reason.startswith("YAML syntax")
    assert issue.file == str(file)
    assert line <= issue.line <= line + 1


def test_yaml_syntax_error_line_exact(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, replace_line(GOOD, 3, "  url: mqtt://h\n    port: 3")))
    assert issue.line == 4
    assert "YAML syntax" in issue.reason


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, replace_line(GOOD, 16, "    station: S1\n    station: S9")))
    assert (issue.line, issue.path, issue.reason) == (17, "bins[0].station", "duplicate key")


def test_duplicate_top_level_section(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, GOOD + "suppliers: []\n"))
    assert (issue.line, issue.path, issue.reason) == (25, "suppliers", "duplicate key")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://broker:1883", "scheme"),
        ("broker:1883", "scheme"),
        ("mqtt://", "no host"),
        ("mqtt://broker:99999", "out of range"),
        ("mqtt://broker:abc", "abc"),
    ],
)
def test_bad_mqtt_url(tmp_path: Path, url: str, reason: str) -> None:
    issue = only_issue(write(tmp_path, replace_line(GOOD, 3, f"  url: '{url}'")))
    assert (issue.line, issue.path) == (3, "mqtt.url")
    assert reason in issue.reason


@pytest.mark.parametrize("url", ["mqtt://broker", "mqtts://broker:8883", "tcp://10.0.0.1:1883"])
def test_good_mqtt_urls(tmp_path: Path, url: str) -> None:
    assert load_config(write(tmp_path, replace_line(GOOD, 3, f"  url: '{url}'")), env={}).mqtt.url == url


def test_mqtts_defaults_to_port_8883(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, replace_line(GOOD, 3, "  url: mqtts://broker")), env={})
    assert (config.mqtt.use_tls, config.mqtt.port) == (True, 8883)


@pytest.mark.parametrize(
    ("line", "new", "path"),
    [
        (13, "  - id: B/1", "bins[0].id"),
        (13, "  - id: 'B#1'", "bins[0].id"),
        (10, "    unit_weight_g: 0", "items[0].unit_weight_g"),
        (10, "    unit_weight_g: .nan", "items[0].unit_weight_g"),
        (17, "    container_qty: 0", "bins[0].container_qty"),
        (17, "    container_qty: lots", "bins[0].container_qty"),
    ],
)
def test_bad_values_are_located(tmp_path: Path, line: int, new: str, path: str) -> None:
    issues = issues_of(write(tmp_path, replace_line(GOOD, line, new)))
    assert (line, path) in [(i.line, i.path) for i in issues], issues


def test_several_errors_reported_at_once(tmp_path: Path) -> None:
    text = GOOD
    text = replace_line(text, 3, "  url: http://broker")  # bad scheme
    text = replace_line(text, 11, "    supplier: bob")  # unknown supplier
    text = replace_line(text, 16, "    statoin: S1")  # typo: unknown + missing
    text = replace_line(text, 19, "  - id: B1")  # duplicate id (and so a duplicate topic)
    text = replace_line(text, 24, "    reorder_point: 100")  # not below container_qty
    file = write(tmp_path, text)
    issues = issues_of(file)
    got = [(i.line, i.path) for i in issues]
    assert got == sorted(got, key=lambda x: x[0])  # in file order
    assert set(got) >= {
        (3, "mqtt.url"),
        (11, "items[0].supplier"),
        (13, "bins[0].station"),
        (16, "bins[0].statoin"),
        (24, "bins[1].reorder_point"),
    }
    assert len(issues) == 5
    assert all(i.file == str(file) for i in issues)


def test_several_errors_all_cross_checks(tmp_path: Path) -> None:
    text = GOOD
    text = replace_line(text, 11, "    supplier: bob")
    text = replace_line(text, 19, "  - id: B1")
    text = replace_line(text, 24, "    reorder_point: 100")
    issues = issues_of(write(tmp_path, text))
    assert [(i.line, i.path) for i in issues] == [
        (11, "items[0].supplier"),
        (19, "bins[1].id"),  # one error: the same id also means the same standard topic
        (24, "bins[1].reorder_point"),
    ]


def test_issue_str_is_file_line_path_reason(tmp_path: Path) -> None:
    file = write(tmp_path, replace_line(GOOD, 20, "    sku: NUT"))
    assert str(only_issue(file)) == f"{file}:20: bins[1].sku: unknown sku 'NUT' (not in items)"


def test_missing_site_and_empty_file(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, ""))
    assert (issue.line, issue.path) == (1, "site")
    assert "missing" in issue.reason


def test_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, "- a\n- b\n"))
    assert issue.line == 1
    assert "mapping" in issue.reason


def test_unreadable_file(tmp_path: Path) -> None:
    issue = only_issue(tmp_path / "nope.yaml")
    assert issue.line == 1
    assert "cannot read" in issue.reason


def test_field_error_does_not_hide_cross_check_errors_of_the_same_bin(tmp_path: Path) -> None:
    text = replace_line(GOOD, 16, "    station: S1\n    colour: red")  # unknown key in bins[0]
    text = text.replace("    sku: BOLT\n    line: L1\n    station: S1", "    sku: NUT\n    line: L1\n    station: S1")
    issues = issues_of(write(tmp_path, text))
    assert [(i.line, i.path) for i in issues] == [(14, "bins[0].sku"), (17, "bins[0].colour")]


@pytest.mark.parametrize("plant", sorted((Path(__file__).resolve().parents[2] / "config").glob("*.yaml")), ids=str)
def test_every_shipped_plant_file_is_valid(plant: Path) -> None:
    secrets = {"KANBAN_MQTT_PASSWORD": "from-the-environment", "KANBAN_INFLUX_TOKEN": "from-the-environment",
               "KANBAN_KEY_ADMIN": "a" * 24, "KANBAN_KEY_VIEWER": "v" * 24, "KANBAN_KEY_DISPLAY": "d" * 24}
    assert load_config(plant, env=secrets).bins


RFID = """rfid:
  readers:
    - {id: post-1, role: kanban_post, loops: [B1]}
    - {id: post-1, role: receiving}
  tags:
    - {epc: e28011606000020a1b2c3d01, loop: B1, card: 1}
    - {epc: E28011606000020A1B2C3D02, loop: B9, card: 1}
    - {epc: E28011606000020A1B2C3D03, loop: B2, card: 2}
"""


def test_rfid_section_references_are_checked_and_located(tmp_path: Path) -> None:
    issues = {(i.line, i.path): i.reason for i in issues_of(write(tmp_path, GOOD + RFID))}
    assert issues == {
        (28, "rfid.readers[1].id"): "duplicate id 'post-1'",
        (31, "rfid.tags[1].loop"): "unknown loop 'B9' (not in bins)",
        (32, "rfid.tags[2].card"): "loop B2 has 1 cards",
        (30, "rfid.tags[0].loop"): "loop B1 is received at an RFID dock and by its scale, so one container would "
                                   "receive two cards: set receive_by_scale: false on bin B1",
        (32, "rfid.tags[2].loop"): "loop B2 is received at an RFID dock and by its scale, so one container would "
                                   "receive two cards: set receive_by_scale: false on bin B2",
    }


def test_a_loop_received_at_a_dock_is_not_also_received_by_its_scale(tmp_path: Path) -> None:
    dock = ("rfid:\n  readers: [{id: dock, role: receiving}]\n"
            "  tags: [{epc: E28011606000020A1B2C3D01, loop: B1, card: 1}]\n")
    [issue] = issues_of(write(tmp_path, GOOD + dock))
    assert issue.path == "rfid.tags[0].loop"
    assert "set receive_by_scale: false on bin B1" in issue.reason
    fixed = GOOD.replace("    reorder_point:", "    receive_by_scale: false\n    reorder_point:", 1)
    assert load_config(write(tmp_path, fixed + dock)).bins[0].receive_by_scale is False


def test_rfid_tags_and_gtins_load(tmp_path: Path) -> None:
    text = GOOD.replace("    supplier: acme\n", '    supplier: acme\n    gtin: "614141123452"\n', 1)
    config = load_config(write(tmp_path, text + RFID.replace("post-1, role: receiving", "post-2, role: kanban_post")
                               .replace("B9", "B2").replace("card: 2", "card: 1").replace("D03", "D04")))
    assert config.items[0].gtin14 == "00614141123452"
    assert config.rfid.tags[0].epc == "E28011606000020A1B2C3D01"
    assert config.rfid.dedup_window_s == 5.0


def test_container_asset_types_are_checked_and_located(tmp_path: Path) -> None:
    asset_types = """rfid:
  asset_types:
    - {grai: "00614141123452", loops: [B1, B9]}
    - {grai: "00614141123452", loops: [B2]}
"""
    issues = {(i.line, i.path): i.reason for i in issues_of(write(tmp_path, GOOD + asset_types))}
    assert issues == {
        (27, "rfid.asset_types[0].loops"): "unknown loop 'B9' (not in bins)",
        (28, "rfid.asset_types[1].grai"): "duplicate grai '00614141123452'",
    }
    typo = asset_types.replace("123452\", loops: [B2]", "123453\", loops: [B2]")
    assert only_issue(write(tmp_path, GOOD + typo)).reason == "check digit of GRAI 00614141123453 should be 2"
