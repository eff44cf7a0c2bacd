"""Webhook signatures: known vectors, tampering, rotation, freshness and fail-closed parsing."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from clipgen_provider.webhooks.signature import parse_header, sign, verify

SECRET = "whsec_test_secret"
BODY = b'{"request_id":"req_1","status":"OK","payload":{"images":[]},"error":null}'
T = 1_700_000_000


def expected_hex(body: bytes, secret: str, timestamp: int) -> str:
    """The contract's definition, computed independently: HMAC-SHA256 over "{t}.{raw_body}"."""
    message = f"{timestamp}.{body.decode('utf-8')}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_known_vector():
    header = sign(BODY, SECRET, timestamp=T)
    assert header == f"t={T},v1={expected_hex(BODY, SECRET, T)}"
    # pinned so an accidental change of the scheme cannot pass by recomputing both sides
    assert hmac.new(b"k", b"1.{}", hashlib.sha256).hexdigest() == sign(b"{}", "k", 1).split("v1=")[1]
    assert verify(BODY, header, [SECRET], now=T)


def test_sign_defaults_to_now(monkeypatch):
    monkeypatch.setattr("time.time", lambda: T + 0.9)
    assert sign(BODY, SECRET).startswith(f"t={T},")


def test_sign_rejects_empty_secret_and_non_utf8_body():
    with pytest.raises(ValueError, match="secret"):
        sign(BODY, "", T)
    with pytest.raises(UnicodeDecodeError):
        sign(b"\xff\xfe", SECRET, T)


def test_non_ascii_body_is_signed_as_utf8():
    body = '{"prompt":"café ☕"}'.encode()
    header = sign(body, SECRET, T)
    assert header.endswith(expected_hex(body, SECRET, T))
    assert verify(body, header, [SECRET], now=T)


def test_bytes_and_str_bodies_are_equivalent():
    text = BODY.decode()
    assert sign(text, SECRET, T) == sign(BODY, SECRET, T)
    assert verify(text, sign(BODY, SECRET, T), [SECRET], now=T)
    assert verify(BODY, sign(text, SECRET, T), [SECRET], now=T)


@pytest.mark.parametrize(
    "body",
    [
        BODY.replace(b"OK", b"KO"),
        BODY + b" ",
        b" " + BODY,
        BODY[:-1],
        b"",
    ],
)
def test_tampered_body_is_rejected(body):
    assert not verify(body, sign(BODY, SECRET, T), [SECRET], now=T)


def test_wrong_secret_is_rejected():
    assert not verify(BODY, sign(BODY, "whsec_other", T), [SECRET], now=T)
    assert not verify(BODY, sign(BODY, SECRET.upper(), T), [SECRET], now=T)


def test_rotation_any_secret_and_any_v1_may_match():
    old, new = "whsec_old", "whsec_new"
    assert verify(BODY, sign(BODY, old, T), [new, old], now=T)
    assert verify(BODY, sign(BODY, new, T), [new, old], now=T)
    both = f"t={T},v1={expected_hex(BODY, new, T)},v1={expected_hex(BODY, old, T)}"
    assert verify(BODY, both, [old], now=T)
    assert verify(BODY, both, [new], now=T)
    assert not verify(BODY, both, ["whsec_third"], now=T)


def test_a_str_secret_is_one_secret_not_characters():
    assert verify(BODY, sign(BODY, SECRET, T), SECRET, now=T)
    assert not verify(BODY, sign(BODY, "w", T), SECRET, now=T)


@pytest.mark.parametrize(
    ("now", "ok"),
    [(T, True), (T + 300, True), (T - 300, True), (T + 300.5, False), (T - 301, False), (T + 86_400, False)],
)
def test_tolerance_window(now, ok):
    assert verify(BODY, sign(BODY, SECRET, T), [SECRET], now=now) is ok


def test_tolerance_is_configurable():
    header = sign(BODY, SECRET, T)
    assert verify(BODY, header, [SECRET], now=T + 1000, tolerance_seconds=1000)
    assert not verify(BODY, header, [SECRET], now=T + 11, tolerance_seconds=10)


def test_default_now_is_the_clock(monkeypatch):
    header = sign(BODY, SECRET, T)
    monkeypatch.setattr("time.time", lambda: T + 10)
    assert verify(BODY, header, [SECRET])
    monkeypatch.setattr("time.time", lambda: T + 10_000)
    assert not verify(BODY, header, [SECRET])


def test_t_comes_from_the_signed_header_only():
    """Re-dating a stale delivery without the secret is impossible: t is part of the MAC."""
    stale = sign(BODY, SECRET, T - 10_000)
    digest = stale.split("v1=")[1]
    assert not verify(BODY, stale, [SECRET], now=T)
    assert not verify(BODY, f"t={T},v1={digest}", [SECRET], now=T)


@pytest.mark.parametrize(
    "header",
    [
        f" t={T} , v1={expected_hex(BODY, SECRET, T)} ",
        f"t={T},v0=abc,v1={expected_hex(BODY, SECRET, T)},scheme=hmac",
        f"v1={expected_hex(BODY, SECRET, T)},t={T}",
        f"t={T},v1={expected_hex(BODY, SECRET, T).upper()}",
        f"t={T},v1=nothex,v1={expected_hex(BODY, SECRET, T)}",
        f"t={T},,v1={expected_hex(BODY, SECRET, T)},garbage",
    ],
)
def test_extra_fields_spaces_and_order_are_tolerated(header):
    assert verify(BODY, header, [SECRET], now=T)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"t={T}",
        f"v1={expected_hex(BODY, SECRET, T)}",
        f"t=abc,v1={expected_hex(BODY, SECRET, T)}",
        f"t={T}.5,v1={expected_hex(BODY, SECRET, T)}",
        f"t=-{T},v1={expected_hex(BODY, SECRET, T)}",
        f"t=\u0661\u0667\u0660\u0660,v1={expected_hex(BODY, SECRET, T)}",  # non-ASCII digits
        f"t={T},t={T},v1={expected_hex(BODY, SECRET, T)}",
        f"t={T},v1=zz{expected_hex(BODY, SECRET, T)[2:]}",
        f"t={T},v1={expected_hex(BODY, SECRET, T)[:-1]}",
        f"t={T},v1={expected_hex(BODY, SECRET, T)}00",
        f"t={T};v1={expected_hex(BODY, SECRET, T)}",
        f"T={T},V1={expected_hex(BODY, SECRET, T)}",
        b"t=1,v1=00",
        12345,
    ],
)
def test_malformed_headers_are_rejected_without_raising(header):
    assert verify(BODY, header, [SECRET], now=T) is False


@pytest.mark.parametrize("secrets", [[], [""], None, [None], ()])
def test_missing_secrets_reject(secrets):
    assert verify(BODY, sign(BODY, SECRET, T), secrets, now=T) is False


@pytest.mark.parametrize("body", [b"\xff\xfe\xfd", b"caf\xe9", None, 42])
def test_non_utf8_or_non_bytes_body_rejects(body):
    header = f"t={T},v1={'0' * 64}"
    assert verify(body, header, [SECRET], now=T) is False


def test_parse_header():
    digest = expected_hex(BODY, SECRET, T)
    assert parse_header(f"t={T},v1={digest},v1={digest.upper()}") == (T, [digest, digest])
    assert parse_header("t=1") is None
