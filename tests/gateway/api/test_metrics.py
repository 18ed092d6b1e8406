"""GET /metrics in Prometheus' text format, read back with Prometheus' own parser; /readyz; /docs air-gapped."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.gateway.live import PLANT, LiveService


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    service = LiveService(tmp_path_factory.mktemp("metrics"))
    yield service
    service.close()


def scrape(live: LiveService) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Every sample: metric name → labels → value."""
    answer = live.request("GET", "/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_a_rejected_reading_moves_its_counter_and_a_released_signal_shows(live: LiveService) -> None:
    before = scrape(live)
    rejected = before.get("kanban_edge_messages_rejected_total", {}).get((("reason", "invalid_json"),), 0.0)
    live.publish(f"{live.prefix}/scale/B1", b"{not json")
    for grams in (1500, 750, 400):
        live.publish(f"{live.prefix}/scale/B1", str(grams).encode())
    after = scrape(live)
    assert after["kanban_edge_messages_rejected_total"][(("reason", "invalid_json"),)] == rejected + 1
    assert after["kanban_edge_messages_total"][(("family", "scale"),)] >= 4
    assert after["kanban_edge_signals_released_total"][()] >= 1
    assert after["kanban_edge_signals_open"][(("status", "released"),)] >= 1
    assert after["kanban_edge_commit_effects_count"][()] >= 1  # a histogram of what each transaction wrote
    assert after["kanban_edge_commit_seconds_bucket"][(("le", "+Inf"),)] >= 1
    assert after["kanban_edge_effect_age_seconds_count"][()] >= 1
    assert after["kanban_edge_database_writable"][()] == 1
    assert after["kanban_edge_broker_connected"][()] == 0  # no broker in this test
    assert after["process_resident_memory_bytes"][()] > 10e6
    assert after["process_start_time_seconds"][()] > 1.7e9
    assert (("consumer", "webhook:acme"), ("status", "pending")) in after["kanban_edge_outbox_items"]


def test_labels_come_from_bounded_sets_never_one_a_bin(live: LiveService) -> None:
    bins = {b["id"] for b in PLANT["bins"]}
    for samples in scrape(live).values():
        for labels in samples:
            assert not {value for _, value in labels} & bins


def test_readyz_says_what_the_service_waits_for(live: LiveService) -> None:
    answer = live.request("GET", "/readyz")
    assert answer.status_code == 503  # no broker here
    body = answer.json()
    assert body["ready"] is False
    assert body["broker_connected"] is False
    assert body["database_writable"] is True


def test_docs_load_everything_from_the_service_itself(live: LiveService) -> None:
    page = live.request("GET", "/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert urls
    for url in urls:
        assert url.startswith("/"), f"/docs loads {url} from outside the service"
        assert live.request("GET", url).status_code == 200
    assert "https://" not in page.text
    assert "http://" not in page.text
