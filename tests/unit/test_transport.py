"""The shared transport: base-URL rule, Retry-After parsing, backoff, error envelope."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from clipgen_provider.exceptions import ClipiaApiError, ClipwiseApiError
from clipgen_provider.hooks._transport import (
    RetryPolicy,
    check_base_url,
    error_from_response,
    parse_retry_after,
    quote_segment,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.clipia.ai", "https://api.clipia.ai"),
        ("https://api.clipia.ai/", "https://api.clipia.ai"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://127.0.0.1:9999/", "http://127.0.0.1:9999"),
    ],
)
def test_allowed_base_urls(url, expected):
    assert check_base_url(url, api_name="Clipia") == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://api.clipia.ai",
        "http://localhost.evil.com",
        "http://127.0.0.1.evil.com:80",
        "http://10.0.0.5",
        "ftp://localhost",
        "api.clipia.ai",
        "https://",
    ],
)
def test_refused_base_urls_name_the_fix(url):
    with pytest.raises(ValueError, match=r"not allowed: use https://") as err:
        check_base_url(url, api_name="Clipia")
    assert "Host field of the Clipia connection" in str(err.value)


def test_quote_segment_has_no_safe_characters():
    assert quote_segment("a/b c?d") == "a%2Fb%20c%3Fd"


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("100000") == 300.0


def test_backoff_is_capped_and_retry_after_wins():
    policy = RetryPolicy(backoff_base=1, backoff_cap=4)
    assert 0.5 <= policy.delay(1, None) <= 1
    assert 2 <= policy.delay(5, None) <= 4
    assert policy.delay(1, 9.0) == 9.0


def test_error_envelope_maps_every_field():
    response = httpx.Response(
        429,
        json={"error": {"code": "rate_limit_exceeded", "message": "slow down", "type": "rate_limit_error"}},
        headers={"Retry-After": "3", "x-request-id": "req_1"},
    )
    err = error_from_response(response, ClipiaApiError)
    assert (err.status, err.code, err.type, err.retry_after, err.request_id) == (
        429,
        "rate_limit_exceeded",
        "rate_limit_error",
        3.0,
        "req_1",
    )
    assert err.is_transient
    assert "What to do: lower the request rate" in str(err)


def test_clipwise_envelope_carries_details_and_request_id():
    response = httpx.Response(
        400,
        json={
            "error": {
                "code": "invalid_argument",
                "message": "missing inputs",
                "details": {"missing": ["avatar"]},
            },
            "request_id": "req_9",
        },
    )
    err = error_from_response(response, ClipwiseApiError)
    assert err.details == {"missing": ["avatar"]}
    assert err.request_id == "req_9"
    assert not err.is_transient
    assert "avatar" in str(err)


def test_non_json_error_body_keeps_the_text():
    err = error_from_response(httpx.Response(502, text="<html>bad gateway</html>"), ClipiaApiError)
    assert err.status_code == 502
    assert "bad gateway" in err.message
    assert err.is_transient
