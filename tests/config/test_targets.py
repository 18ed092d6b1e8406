"""Delivery targets in the plant file: every template is rendered against a sample event of each loop it serves,
so a mistake is reported by check-config with file:line, not by the ERP at the first signal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.load import ConfigError, load_config
from config.targets import (
    LoopFields,
    TemplateProblem,
    answer_context,
    document_of,
    event_fields,
    refusal_in,
    render_request,
)
from gateway.cli import main

ROOT = Path(__file__).resolve().parents[2]
PLANT = """\
site: p7
suppliers:
  - {id: acme, name: ACME Fasteners, lead_time_h: 24}
  - {id: wh, name: Warehouse, lead_time_h: 2}
items:
  - {sku: M8X20, description: Hex bolt, unit_weight_g: 11.2, supplier: acme}
  - {sku: CLIP, unit_weight_g: 7.5, supplier: wh}
bins:
  - {id: L1-S1-M8X20, sku: M8X20, line: L1, station: S1, container_qty: 200, reorder_point: 60}
  - {id: L2-S1-CLIP, sku: CLIP, line: L2, station: S1, container_qty: 50, reorder_point: 10}
"""
ENV = {
    "ERPNEXT_URL": "https://erp.example", "ERPNEXT_API_KEY": "key", "ERPNEXT_API_SECRET": "secret",
    "ERPNEXT_COMPANY": "ACME Manufacturing", "ERPNEXT_WAREHOUSE": "Stores - AM",
    "ODOO_URL": "https://odoo.example", "ODOO_DATABASE": "plant", "ODOO_LOGIN": "kanban", "ODOO_API_KEY": "k3y",
    "ODOO_PASSWORD": "pw",
}
TARGET = """\
targets:
  - id: erp
    suppliers: [acme]
    values: {warehouse: Stores}
    headers: {Authorization: "token ${KEY}"}
    create:
      url: "https://erp.example/api/{{ loop }}"
      params: {when: "{{ due_by | date('%Y-%m-%d') }}"}
      body: |
        {"item": {{ sku | tojson }},
         "qty": {{ quantity }},
         "warehouse": {{ values.warehouse | tojson }}}
      document_id: response.data.name
"""


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ConfigError | object:
    path = tmp_path / "plant.yaml"
    path.write_text(text)
    try:
        return load_config(path, env=env if env is not None else {"KEY": "k"})
    except ConfigError as exc:
        return exc


def issues(tmp_path: Path, text: str) -> list[tuple[int, str, str]]:
    found = load(tmp_path, text)
    assert isinstance(found, ConfigError), "the plant file should have been refused"
    return [(i.line, i.path, i.reason) for i in found.issues]


@pytest.mark.parametrize("name", ["erpnext", "odoo-purchase", "odoo-stock-request"])
def test_the_shipped_targets_pass_check_config(tmp_path: Path, name: str) -> None:
    shipped = (ROOT / "config" / "erp" / f"{name}.yaml").read_text()
    one_loop = PLANT.replace(PLANT.splitlines()[-1] + "\n", "")  # the shipped files name the products of M8X20
    config = load(tmp_path, one_loop + shipped, ENV)
    assert not isinstance(config, ConfigError), str(config)


def test_a_template_that_does_not_compile_is_reported_at_its_field_with_its_own_line(tmp_path: Path) -> None:
    text = PLANT + TARGET.replace('"qty": {{ quantity }},', '"qty": {{ quantity },')
    assert issues(tmp_path, text) == [(19, "targets[0].create.body", "template: template line 2: unexpected '}'")]


def test_an_unknown_field_or_value_is_reported_with_the_loop_it_failed_for(tmp_path: Path) -> None:
    text = PLANT + TARGET.replace("{{ sku | tojson }}", "{{ skew | tojson }}").replace("{{ loop }}", "{{ lop }}")
    assert issues(tmp_path, text) == [(17, "targets[0].create.url", "loop L1-S1-M8X20: 'lop' is undefined")]
    text = PLANT + TARGET.replace("values.warehouse", "values.warehouses")
    assert issues(tmp_path, text) == [
        (19, "targets[0].create.body", "loop L1-S1-M8X20: 'dict object' has no attribute 'warehouses'")
    ]


def test_a_lookup_missing_for_one_loop_names_that_loop(tmp_path: Path) -> None:
    text = PLANT + TARGET.replace(
        "values: {warehouse: Stores}", "values: {qty: {M8X20: 4}}").replace("    suppliers: [acme]\n", "").replace(
        '"warehouse": {{ values.warehouse | tojson }}', '"packs": {{ values.qty[sku] }}')
    assert issues(tmp_path, text) == [
        (18, "targets[0].create.body", "loop L2-S1-CLIP: 'dict object' has no attribute 'CLIP'")
    ]


def test_a_body_that_is_not_json_or_a_url_that_is_not_http_is_refused(tmp_path: Path) -> None:
    text = PLANT + TARGET.replace('"qty": {{ quantity }},', '"qty": {{ quantity }}').replace(
        "https://erp.example", "ftp://erp.example")
    found = issues(tmp_path, text)
    assert [(line, path) for line, path, _ in found] == [(17, "targets[0].create.url")]
    assert found[0][2] == "loop L1-S1-M8X20: does not render an http:// or https:// url with a host"
    text = PLANT + TARGET.replace('"qty": {{ quantity }},', '"qty": {{ quantity }}').replace(
        "{{ sku | tojson }}", '"${KEY}"')
    [(line, path, reason)] = issues(tmp_path, text)
    assert (line, path) == (19, "targets[0].create.body")
    assert reason == (  # and not the text, which holds the secret
        "loop L1-S1-M8X20: renders text that is not JSON: Expecting ',' delimiter: line 3 column 2 (char 27)")


def test_target_wide_rules_are_checked(tmp_path: Path) -> None:
    text = PLANT + TARGET.replace("suppliers: [acme]", "suppliers: [acme, nobody]").replace(
        "    create:", "    find: {url: 'https://erp.example/find'}\n    create:")
    assert issues(tmp_path, text) == [
        (12, "targets[0]", "find needs document_id: the expression that names the document found"),
    ]
    text = PLANT + TARGET.replace("suppliers: [acme]", "suppliers: [acme, nobody]")
    assert issues(tmp_path, text) == [(13, "targets[0].suppliers[1]", "unknown supplier 'nobody'")]
    text = PLANT + "targets:\n  - {id: x, values: {}}\n"
    assert issues(tmp_path, text) == [(12, "targets[0]", "a target needs create, cancel or both")]


def test_a_header_cannot_smuggle_a_line_break(tmp_path: Path) -> None:
    text = PLANT + TARGET.replace('"token ${KEY}"', '"token {{ values.warehouse }}\\r\\nX-Evil: 1"')
    assert issues(tmp_path, text) == [
        (15, "targets[0].headers.Authorization", "loop L1-S1-M8X20: renders a line break, which a header cannot hold"),
    ]


def test_the_sandbox_keeps_templates_out_of_python_and_bounded(tmp_path: Path) -> None:
    for evil, why in [("{{ sku.__class__.__mro__ }}", "unsafe"), ("{{ 'x' * 100000000 }}", "longer than"),
                      ("{{ 10 ** 100000 }}", "exponent")]:
        text = PLANT + TARGET.replace('"https://erp.example/api/{{ loop }}"', f'"https://erp.example/{evil}"')
        [(line, path, reason)] = issues(tmp_path, text)
        assert (line, path) == (17, "targets[0].create.url")
        assert why in reason


def test_check_config_prints_a_template_error_as_file_line_field_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEY", "k")
    path = tmp_path / "plant.yaml"
    path.write_text(PLANT + TARGET.replace("{{ quantity }}", "{{ quantity | round(precision='x') }}"))
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{path}:19: targets[0].create.body: loop L1-S1-M8X20: ")
    assert err[1] == f"{path}: 1 error(s)"


def test_a_request_is_rendered_as_the_target_will_send_it(tmp_path: Path) -> None:
    config = load(tmp_path, PLANT + TARGET)
    assert not isinstance(config, ConfigError)
    target = config.targets[0]  # type: ignore[attr-defined]
    body = {"type": "signal_released", "site": "p7", "bin_id": "L1-S1-M8X20", "ts": "2026-11-27T10:15:02.120Z",
            "signal_id": "L1-S1-M8X20-3", "card": 3, "sku": "M8X20", "line": "L1", "station": "S1",
            "supplier": "acme", "quantity": 200, "pieces": 58, "by": "scale", "urgent": False, "stockout": False,
            "seq": 1042}
    loop = LoopFields(sku="M8X20", description="Hex bolt", line="L1", station="S1", supplier="acme",
                      supplier_name="ACME Fasteners", quantity=200, lead_time_h=24)
    fields = event_fields(body, site="p7", loop=loop, public_url="https://edge.example/")
    assert (fields["event_id"], fields["due_by"], fields["link"]) == (
        "p7:1042", "2026-11-28T10:15:02.120Z", "https://edge.example/api/v1/signals/L1-S1-M8X20-3")
    context = fields | {"values": target.values, "login": {}, "document_id": None}
    sent = render_request(target.create, headers=target.headers, context=context)
    assert (sent.method, sent.url, sent.params) == (
        "POST", "https://erp.example/api/L1-S1-M8X20", {"when": "2026-11-28"}
    )
    assert sent.headers == {"Authorization": "token k", "Content-Type": "application/json"}
    assert json.loads(sent.content or b"") == {"item": "M8X20", "qty": 200, "warehouse": "Stores"}
    answer = answer_context(201, '{"data": {"name": "MAT-MR-2026-00012"}}')
    assert document_of(target.create, answer) == "MAT-MR-2026-00012"
    assert document_of(target.create, answer_context(201, "not json")) is None
    assert refusal_in(target.create, answer) is None
    without_sku = {key: value for key, value in context.items() if key != "sku"}
    with pytest.raises(TemplateProblem, match="'sku' is undefined"):
        render_request(target.create, headers=target.headers, context=without_sku)


@pytest.mark.parametrize("name", ["erpnext", "odoo-purchase", "odoo-stock-request"])
def test_docs_erp_shows_the_shipped_targets_as_they_are(name: str) -> None:
    shipped = (ROOT / "config" / "erp" / f"{name}.yaml").read_text()
    section = shipped[shipped.index("targets:"):]
    assert f"```yaml\n{section}```" in (ROOT / "docs" / "ERP.md").read_text()


def test_the_minimal_target_of_docs_erp_passes_check_config(tmp_path: Path) -> None:
    docs = (ROOT / "docs" / "ERP.md").read_text()
    start = docs.index("targets:\n  - id: mes")
    config = load(tmp_path, PLANT + docs[start:docs.index("```", start)], {"MES_TOKEN": "t"})
    assert not isinstance(config, ConfigError), str(config)
