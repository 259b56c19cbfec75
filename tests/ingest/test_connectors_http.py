"""The connectors' HTTP client on a real local server: retries, Retry-After, backoff cap, errors."""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest
from recorded.fake_api import FakeApi, Reply

from headway.ingest.connectors import ConnectorAuthError, ConnectorHttpError, RateLimitError
from headway.ingest.connectors.http import HttpClient
from headway.ingest.secrets import Secret

TOKEN = "tok_live_VerySecret123"
NOW = dt.datetime(2024, 6, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def api():
    with FakeApi() as server:
        server.route("GET", "/items", lambda req: {"items": [1, 2, 3], "page": req.query.get("page")})
        yield server


def client(api, **options):
    slept: list[float] = []
    http = HttpClient(
        api.url,
        "Acme",
        headers={"Authorization": Secret(f"Bearer {TOKEN}")},
        sleep=slept.append,
        clock=lambda: NOW,
        **options,
    )
    return http, slept


def test_retry_after_in_seconds_is_honoured(api):
    api.fail_next("GET", "/items", 429, headers={"Retry-After": "7"}, times=2)
    http, slept = client(api)
    response = http.get("/items", {"page": 2})
    assert response.body == {"items": [1, 2, 3], "page": "2"}
    assert slept == [7.0, 7.0]
    assert len(api.calls("/items")) == 3
    assert all(r.query == {"page": "2"} for r in api.calls("/items"))  # the retry repeats the same request


def test_retry_after_as_an_http_date_is_honoured(api):
    when = email.utils.format_datetime(NOW + dt.timedelta(seconds=42), usegmt=True)
    api.fail_next("GET", "/items", 429, headers={"Retry-After": when})
    http, slept = client(api)
    http.get("/items")
    assert slept == [42.0]


def test_5xx_backs_off_exponentially_with_a_cap_then_gives_up(api):
    api.fail_next("GET", "/items", 503, times=10)
    http, slept = client(api, max_retries=6, max_backoff_s=10)
    with pytest.raises(ConnectorHttpError, match=r"HTTP 503.*after 7 attempts") as err:
        http.get("/items")
    assert slept == [1, 2, 4, 8, 10, 10]
    assert err.value.permanent is False and err.value.status == 503


def test_429_without_retry_after_uses_the_backoff(api):
    api.fail_next("GET", "/items", 429)
    http, slept = client(api)
    assert http.get("/items").status == 200
    assert slept == [1.0]


def test_a_wait_longer_than_accepted_is_not_slept(api):
    api.fail_next("GET", "/items", 429, headers={"Retry-After": "3600"})
    http, slept = client(api, max_wait_s=300)
    with pytest.raises(RateLimitError, match="wait 3600 s") as err:
        http.get("/items")
    assert slept == [] and err.value.permanent is False


def test_401_and_403_are_auth_errors_at_once(api):
    api.fail_next("GET", "/items", 401, body={"message": f"token {TOKEN} expired"})
    http, slept = client(api)
    with pytest.raises(ConnectorAuthError, match=r"^Acme: .*HTTP 401.*expired") as err:
        http.get("/items")
    assert TOKEN not in str(err.value) and slept == []
    api.fail_next("GET", "/items", 403, body={"error": "insufficient_scope"})
    with pytest.raises(ConnectorAuthError, match="lacks a permission"):
        http.get("/items")


def test_other_4xx_is_permanent_with_the_api_message(api):
    http, _ = client(api)
    with pytest.raises(ConnectorHttpError, match=r"HTTP 404.*Unrecognized request URL") as err:
        http.get("/nope")
    assert err.value.permanent is True


def test_an_unreachable_server_is_retried_then_reported(api):
    http, slept = client(api, max_retries=2)
    http.base_url = "http://127.0.0.1:1"
    with pytest.raises(ConnectorHttpError, match="cannot reach") as err:
        http.get("/items")
    assert slept == [1, 2] and err.value.permanent is False


def test_post_sends_json(api):
    api.route("POST", "/search", lambda req: Reply({"echo": req.body}, 200))
    http, _ = client(api)
    assert http.post("/search", {"a": [1, "x"]}).body == {"echo": {"a": [1, "x"]}}
    assert api.calls("/search")[0].headers["content-type"] == "application/json"
