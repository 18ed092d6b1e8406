"""docs/CONFIG.md's reference is generated from the plant file's models and kept up to date with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import reference

CONFIG_MD = Path(__file__).resolve().parents[2] / "docs" / "CONFIG.md"


def test_docs_config_md_matches_the_models() -> None:
    document = CONFIG_MD.read_text()
    assert reference.updated(document) == document, (
        "docs/CONFIG.md is out of date with the plant file's models: run "
        "`.venv/bin/python -m config.reference --write docs/CONFIG.md`"
    )


def test_the_reference_lists_every_section_and_key_with_its_bounds() -> None:
    text = reference.reference()
    for heading in ("### `mqtt`", "### `bins[]`", "### `bins[].scale`", "### `plcs[].serial`, `scales[].serial`",
                    "### `stations[].schedule.shifts[]`", "### `rfid.tags[]`", "### `influx`"):
        assert heading in text
    assert "| `keepalive_s` | int | `30` | ≥ 5, ≤ 3,600 |" in text
    assert "| `password` | secret (use ${VAR}) | none |  |" in text
    assert "| `site` | str | required | an id |" in text


def test_a_changed_model_makes_the_document_out_of_date(monkeypatch: pytest.MonkeyPatch) -> None:
    document = CONFIG_MD.read_text()
    monkeypatch.setattr(reference, "_default", lambda field: "changed")
    assert reference.updated(document) != document


def test_a_document_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        reference.updated("# no reference here\\n")
