"""Who may do what: every route of the API × every role × no key × a wrong key, as docs/SECURITY.md says."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from config.plant import PlantConfig
from gateway.api.app import ROUTERS, create_app
from gateway.api.auth import Access, Permission, permission_of
from tests.gateway.live import PLANT, LiveService

KEYS = {role: f"{role}-key-{'x' * 24}" for role in ("display", "viewer", "operator", "erp", "admin")}
PUBLIC = {"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect"}
"""Routes anyone may call, whatever the keys: liveness, readiness and the API's description (/openapi.json)."""
# What docs/SECURITY.md promises, written out here rather than read from the code under test.
ROLES: dict[str, set[str]] = {
    "display": {"display"},
    "viewer": {"display", "read"},
    "operator": {"display", "read", "floor"},
    "erp": {"display", "read", "signals"},
    "admin": {"display", "read", "floor", "signals", "deliveries"},
}
DISPLAY_ROUTES = {"/andon", "/andon/{line}", "/api/v1/andon", "/api/v1/events"}
WRITE_ROUTES = {
    "/api/v1/stations/{station_id}/wip": "floor", "/api/v1/alarms/{alarm_id}/acknowledge": "floor",
    "/api/v1/signals/{signal_id}/acknowledge": "signals", "/api/v1/signals/{signal_id}/ship": "signals",
    "/api/v1/signals/{signal_id}/receive": "signals", "/api/v1/signals/{signal_id}/cancel": "signals",
    "/api/v1/deliveries/{delivery_id}/retry": "deliveries", "/api/v1/targets/{target_id}/updates": "signals",
}
# A real id for every path parameter, so that an allowed call never fails for want of one.
PATH_VALUES = {"bin_id": "B1", "loop_id": "B1", "signal_id": "B1-1", "station_id": "S1", "alarm_id": "1",
               "delivery_id": "1", "line": "L1", "target_id": "erp"}


def plant(**api: Any) -> dict[str, Any]:
    keys = [{"name": f"{role}-holder", "role": role, "key": key} for role, key in KEYS.items()]
    return PLANT | {"api": {"host": "0.0.0.0", "keys": keys} | api}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    service = LiveService(tmp_path_factory.mktemp("auth"), plant())
    for grams in (1500, 750, 400):  # two open signals of B1
        service.publish(f"{service.prefix}/scale/B1", str(grams).encode())
    service.publish(f"{service.prefix}/plc/P1/status", b'{"online": false}')  # alarm 1
    yield service
    service.close()


def routes() -> list[tuple[str, str, Permission | None]]:
    """Every route: those of the app itself (/docs) and of each resource's router."""
    app = create_app(_Stub())  # type: ignore[arg-type]
    candidates = [*app.routes, *(route for router in ROUTERS for route in router.routes)]
    return [(method, route.path, permission_of(route)) for route in candidates if isinstance(route, APIRoute)
            for method in sorted(route.methods)]


class _Stub:
    """Just what `create_app` reads of a service: enough to list its routes."""

    def __init__(self) -> None:
        self.config = PlantConfig.model_validate({"site": "stub"})
        self.access = Access(self.config.api)


ROUTES = routes()


def test_every_route_needs_what_the_documentation_says() -> None:
    undeclared = [f"{method} {path}" for method, path, needed in ROUTES if needed is None and path not in PUBLIC]
    assert undeclared == []
    assert {path for _, path, needed in ROUTES if needed is None} == PUBLIC
    for method, path, needed in ROUTES:
        if method == "POST":
            assert needed == WRITE_ROUTES[path], path
        elif needed is not None:
            assert needed == ("display" if path in DISPLAY_ROUTES else "read"), path
    assert {path for method, path, _ in ROUTES if method == "POST"} == set(WRITE_ROUTES)


def call(live: LiveService, method: str, path: str, key: str | None) -> tuple[int, dict[str, Any] | None]:
    """The status of a request and, when refused, its error; a stream (/api/v1/events) is left unread."""
    url = path.format(**PATH_VALUES)
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    with live.http.stream(method, url, headers=headers, content=b"{}" if method == "POST" else None) as answer:
        refused = answer.status_code in (401, 403)
        return answer.status_code, answer.read() and answer.json()["error"] if refused else None


@pytest.mark.parametrize(("method", "path", "needed"), [r for r in ROUTES if r[2] is not None],
                         ids=[f"{m} {p}" for m, p, n in ROUTES if n is not None])
def test_each_role_gets_what_its_grants_say_and_nobody_else_gets_anything(
    live: LiveService, method: str, path: str, needed: Permission
) -> None:
    for who, key in [("nobody", None), ("a wrong key", "not-a-key-" + "y" * 24), *KEYS.items()]:
        status, error = call(live, method, path, key)
        if needed in ROLES.get(who, set()):
            assert status not in (401, 403), (who, status)
            continue
        expected = 403 if who in ROLES else 401
        assert status == expected, (who, status)
        assert error is not None
        assert error["code"] == ("forbidden" if expected == 403 else "unauthorized")


def test_public_routes_answer_without_a_key(live: LiveService) -> None:
    assert live.request("GET", "/readyz").status_code in (200, 503)  # no broker here: 503 says why
    assert live.request("GET", "/healthz").status_code in (200, 503)
    assert live.request("GET", "/openapi.json").status_code == 200


def test_a_key_in_a_header_of_its_own_works_and_only_display_routes_take_it_in_the_url(live: LiveService) -> None:
    assert live.request("GET", "/api/v1/bins", headers={"x-api-key": KEYS["viewer"]}).status_code == 200
    assert live.request("GET", f"/andon?token={KEYS['display']}").status_code == 200
    assert live.request("GET", f"/api/v1/bins?token={KEYS['admin']}").status_code == 401  # not in a URL


def test_the_holder_of_an_erp_key_is_who_moved_the_signal(live: LiveService) -> None:
    answer = live.request("POST", "/api/v1/signals/B1-2/acknowledge", json=None,
                          headers={"authorization": f"Bearer {KEYS['erp']}", "content-type": "application/json"})
    assert answer.status_code == 200
    assert answer.json()["transitions"][-1]["by"] == "erp-holder"


def test_refusals_are_counted_and_logged_at_a_limited_rate_without_the_key(
    live: LiveService, caplog: pytest.LogCaptureFixture
) -> None:
    before = dict(live.service.access.failures)
    wrong = "not-a-key-" + "z" * 24
    with caplog.at_level(logging.WARNING, logger="gateway.api.auth"):
        for _ in range(50):
            live.request("GET", "/api/v1/bins", headers={"authorization": f"Bearer {wrong}"})
    assert live.service.access.failures["unknown"] - before.get("unknown", 0) == 50
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) <= 1
    assert wrong not in caplog.text


def test_a_form_post_from_another_page_changes_nothing(live: LiveService) -> None:
    def signal() -> dict[str, Any]:
        answer = live.request("GET", "/api/v1/signals/B1-1", headers={"x-api-key": KEYS["viewer"]})
        found: dict[str, Any] = answer.json()
        return found

    before = signal()
    # What a web page can make a browser send to another origin without asking: a form, or plain text.
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"):
        answer = live.request("POST", "/api/v1/signals/B1-1/cancel", content=b"by=evil",
                              headers={"content-type": content_type, "authorization": f"Bearer {KEYS['admin']}"})
        assert answer.status_code == 415
        assert answer.json()["error"]["code"] == "unsupported_media_type"
    assert signal() == before


@pytest.mark.parametrize(
    ("api", "read", "write"),
    [
        ({"host": "127.0.0.1", "keys": []}, 200, 200),  # one person's machine: open
        ({"host": "0.0.0.0", "keys": []}, 401, 401),  # the plant network without keys: closed
        ({"host": "0.0.0.0", "keys": [], "anonymous_read": True}, 200, 401),  # read-only
        ({"host": "127.0.0.1", "keys": [{"name": "a", "role": "admin", "key": "k" * 24}]}, 200, 401),
    ],
)
def test_the_defaults_never_leave_writes_open_beyond_this_machine(
    tmp_path_factory: pytest.TempPathFactory, api: dict[str, Any], read: int, write: int
) -> None:
    service = LiveService(tmp_path_factory.mktemp("defaults"), PLANT | {"api": api})
    try:
        assert service.request("GET", "/api/v1/stations").status_code == read
        answer = service.request("POST", "/api/v1/stations/S1/wip", json={"wip": 3})
        assert answer.status_code == write
    finally:
        service.close()
