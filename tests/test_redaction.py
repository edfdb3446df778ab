"""``orchestrator.redaction``: secrets removed in their echoed forms, before truncation."""

from __future__ import annotations

import base64
import json

from orchestrator.redaction import Redactor
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
