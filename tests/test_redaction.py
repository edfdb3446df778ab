"""``orchestrator.redaction``: secrets removed in their echoed forms, before truncation."""

from __future__ import annotations

import base64
import io
import json
import logging

from orchestrator.redaction import RedactingFilter, Redactor, display_url, url_secrets
from orchestrator.server.providers.chat_errors import upstream_message

KEY = "gsk_Zq81LmT0pXv4Rw9YbN2cKd7HfJ3sAe5U"  # not sk-: no shape rule can catch it


def _no_fragment(text: str, secret: str = KEY, size: int = 8) -> bool:
    return not any(secret[i : i + size] in text for i in range(len(secret) - size + 1))


def test_a_key_at_the_cut_is_redacted_before_truncation() -> None:
    # The key straddles character 300: cut first, 31 of its characters once survived.
    message = "x" * 280 + f" invalid key {KEY} for this project"
    body = json.dumps({"error": {"message": message}}).encode()
    said, _ = upstream_message(body, redact=Redactor(KEY))
    assert len(said) <= 300 and _no_fragment(said), said


def test_partial_and_base64_echoes_are_redacted() -> None:
    redact = Redactor(KEY)
    for echoed in (
        f"key {KEY[:8]}...{KEY[-4:]} rejected",
        f"key {KEY[:8]}****{KEY[-4:]} rejected",
        f"auth {base64.b64encode(KEY.encode()).decode()} rejected",
        f"auth {base64.urlsafe_b64encode(KEY.encode()).decode().rstrip('=')} rejected",
        f"key ending {KEY[5:30]} rejected",
    ):
        out = redact(echoed)
        assert "***" in out and _no_fragment(out) and out.endswith("rejected"), (echoed, out)
    assert redact("nothing secret here, model gpt-4o-mini-2024-07-18") == (
        "nothing secret here, model gpt-4o-mini-2024-07-18"
    )


def test_credentials_in_urls_and_headers_are_redacted_whatever_their_value() -> None:
    redact = Redactor()  # no configured secret: the shapes alone
    out = redact(
        "POST https://bob:hunter2hunter2@llm.example/v1/chat?api-version=1&api_key=abc123 "
        "Authorization: Basic Ym9iOmh1bnRlcjI= token=t0k3n"
    )
    assert out == (
        "POST https://***@llm.example/v1/chat?api-version=1&api_key=*** "
        "Authorization: Basic *** token=***"
    )
    # Words are not credentials: "Basic usage", an orchestrator-key metadata entry.
    assert redact("Basic usage; orchestrator-key=tutor") == "Basic usage; orchestrator-key=tutor"


def test_url_secrets_and_display_url() -> None:
    url = "https://bob:p%40ss-w0rd@llm.example:8443/v1?api-version=2&key=QK-123"
    assert url_secrets(url) == ("p@ss-w0rd", "bob:p@ss-w0rd", "QK-123")
    assert url_secrets("http://127.0.0.1:8000/v1") == ()
    assert display_url(url) == "https://llm.example:8443/v1"
    assert display_url("http://u:p@[::1]:8000/v1?key=1") == "http://[::1]:8000/v1"


def test_the_log_filter_redacts_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log_filter = RedactingFilter()
    log_filter.add(KEY, None)
    handler.addFilter(log_filter)
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"upstream said {KEY}")
        except ValueError:
            logger.exception("call to %s failed", f"http://u:{KEY}@host/v1")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "call to http://***@host/v1 failed" in text and "ValueError" in text, text
    assert _no_fragment(text), text


def test_a_word_inside_a_key_is_not_a_fragment_of_it() -> None:
    # A key made of words must not mask those words everywhere (the exact key still goes).
    redact = Redactor("sk-test-orchestrator")
    out = redact("not a plan saved by `orchestrator plan -o` (key sk-test-orchestrator)")
    assert out == "not a plan saved by `orchestrator plan -o` (key ***)"
