"""Webhook and outbox settings in the plant file: errors are located like every other field."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.load import ConfigError, load_config

PLANT = """\
site: p7
storage:
  path: data/p7.db
suppliers:
  - id: acme
    name: ACME
    lead_time_h: 24
    webhook:
      url: ftp://orders.acme.example/
      secret: ${ACME_SECRET}
      events: [signal_released, Urgent]
items:
  - {sku: BOLT, unit_weight_g: 10, supplier: acme}
"""


def test_webhook_errors_name_line_field_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(PLANT)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={"ACME_SECRET": "short"})
    assert [(i.line, i.path) for i in caught.value.issues] == [
        (9, "suppliers[0].webhook.url"), (10, "suppliers[0].webhook.secret"),
        (11, "suppliers[0].webhook.events[1]"),
    ]


def test_valid_webhook_reads_the_secret_from_the_environment_and_the_outbox_sits_by_the_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(PLANT.replace("ftp:", "https:").replace("Urgent", "urgent"))
    config = load_config(path, env={"ACME_SECRET": "a-long-enough-secret"})
    webhook = config.suppliers[0].webhook
    assert webhook is not None
    assert webhook.secret.get_secret_value() == "a-long-enough-secret"
    assert config.outbox_path == Path("data/p7-outbox.db")
