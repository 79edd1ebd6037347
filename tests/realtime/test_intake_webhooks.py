"""Standard Webhooks signature verification (pure: no server, no database)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from realtime.intake.webhooks import (
    InvalidSignature,
    MalformedHeader,
    MalformedSignature,
    MalformedTimestamp,
    MissingHeaders,
    TimestampOutOfTolerance,
    Webhook,
    decode_secret,
)

KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
OTHER = "whsec_" + base64.b64encode(b"another key of 24+ bytes!!").decode()
NOW = 1_790_000_000
BODY = b'{"external_id":"P-1","priority":"normal"}'


def webhook(secrets: object = SECRET, tolerance: float = 300) -> Webhook:
    return Webhook(secrets, tolerance=tolerance, clock=lambda: NOW)  # type: ignore[arg-type]


def headers(secret: str = SECRET, *, msg_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
            ts: int = NOW, body: bytes = BODY) -> dict[str, str]:
    return Webhook(secret, clock=lambda: ts).headers(msg_id, body)


def test_valid_signature_verifies_and_matches_the_spec_formula() -> None:
    h = headers()
    message = webhook().verify(h, BODY)
    assert (message.id, message.timestamp, message.body) == (h["webhook-id"], NOW, BODY)
    # The spec: base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>")), prefixed "v1,".
    signed = f"{h['webhook-id']}.{NOW}.".encode() + BODY
    expected = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
    assert h["webhook-signature"] == f"v1,{expected}"


def test_header_names_are_case_insensitive() -> None:
    h = {k.title(): v for k, v in headers().items()}
    assert webhook().verify(h, BODY).timestamp == NOW


def test_tampered_body_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        webhook().verify(headers(), BODY.replace(b"normal", b"emergency"))


def test_tampered_id_or_timestamp_is_refused() -> None:
    h = headers()
    with pytest.raises(InvalidSignature):
        webhook().verify({**h, "webhook-id": "msg_other"}, BODY)
    with pytest.raises(InvalidSignature):
        webhook().verify({**h, "webhook-timestamp": str(NOW - 1)}, BODY)


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        webhook().verify(headers(OTHER), BODY)


def test_old_timestamp_is_refused() -> None:
    with pytest.raises(TimestampOutOfTolerance, match="too old"):
        webhook().verify(headers(ts=NOW - 301), BODY)
    assert webhook().verify(headers(ts=NOW - 299), BODY)


def test_future_timestamp_is_refused() -> None:
    with pytest.raises(TimestampOutOfTolerance, match="future"):
        webhook().verify(headers(ts=NOW + 301), BODY)
    assert webhook().verify(headers(ts=NOW + 299), BODY)


def test_tolerance_is_configurable() -> None:
    with pytest.raises(TimestampOutOfTolerance):
        webhook(tolerance=10).verify(headers(ts=NOW - 11), BODY)


def test_any_of_several_signatures_may_match() -> None:
    good = headers()["webhook-signature"]
    bad = headers(OTHER)["webhook-signature"]
    h = {**headers(), "webhook-signature": f"{bad} v1a,c29tZWVkMjU1MTlzaWc= {good}"}
    assert webhook().verify(h, BODY)
    h["webhook-signature"] = f"{bad}  v2,abc"
    with pytest.raises(InvalidSignature):
        webhook().verify(h, BODY)


def test_receiver_accepts_any_of_its_rotated_secrets() -> None:
    assert webhook([OTHER, SECRET]).verify(headers(), BODY)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers(missing: str) -> None:
    h = headers()
    del h[missing]
    with pytest.raises(MissingHeaders, match=missing):
        webhook().verify(h, BODY)
    with pytest.raises(MissingHeaders):
        webhook().verify({**headers(), missing: ""}, BODY)


@pytest.mark.parametrize("stamp", ["abc", "1.5e9", "-5", "1790000000.0", "99999999999999",
                                   "2026-11-22T10:00:00Z"])
def test_malformed_timestamp(stamp: str) -> None:
    with pytest.raises(MalformedTimestamp):
        webhook().verify({**headers(), "webhook-timestamp": stamp}, BODY)


@pytest.mark.parametrize("signature", ["garbage", "v1", "v1,", ",abc", " ".join(["v1,x"] * 17)])
def test_malformed_signature_header(signature: str) -> None:
    with pytest.raises(MalformedSignature):
        webhook().verify({**headers(), "webhook-signature": signature}, BODY)


def test_malformed_signature_is_an_invalid_signature_and_no_v1_is_refused() -> None:
    assert issubclass(MalformedSignature, InvalidSignature)
    with pytest.raises(InvalidSignature):
        webhook().verify({**headers(), "webhook-signature": "v1a,abc"}, BODY)
    with pytest.raises(InvalidSignature):  # non-ASCII garbage is compared safely
        webhook().verify({**headers(), "webhook-signature": "v1,ünïcode"}, BODY)


@pytest.mark.parametrize("msg_id", ["has space", "x" * 256, "tab\tid"])
def test_malformed_id(msg_id: str) -> None:
    with pytest.raises(MalformedHeader):
        webhook().verify({**headers(), "webhook-id": msg_id}, BODY)


def test_secrets() -> None:
    assert decode_secret(SECRET) == KEY
    assert decode_secret(base64.b64encode(KEY).decode()) == KEY  # without the prefix
    assert decode_secret(KEY) == KEY
    for bad in ("whsec_not base64!", "whsec_", ""):
        with pytest.raises(ValueError, match="secret"):
            decode_secret(bad)
    with pytest.raises(ValueError, match="at least one"):
        Webhook([])
    with pytest.raises(ValueError, match="tolerance"):
        Webhook(SECRET, tolerance=0)
