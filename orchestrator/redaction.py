"""One redaction for every log line and error message that may echo a secret.

Redact first, then shorten: a message cut before redaction can leave most of a key
behind (31 of 34 characters once reached ``run.last_error``). :class:`Redactor` removes
the configured secrets in the forms they are commonly echoed back: exact, a fragment
of 12 or more of their characters (a truncated echo), first 8 + last 4 with anything
between (``sk-proj-…wxyz``), base64 (standard and URL-safe, padded or not); and
anything shaped like a key (``sk-...``, ``Bearer ...``).
"""

from __future__ import annotations

import base64
import re

_SECRET_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{3,}|Bearer\s+\S+)", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=.~]{12,}")
# Fragments shorter than this are too common to be evidence of a key.
MIN_FRAGMENT = 12
MASK = "***"


def _base64_forms(secret: str) -> set[str]:
    raw = secret.encode("utf-8")
    forms = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return forms | {f.rstrip("=") for f in forms}


class Redactor:
    """Removes the given secrets (and anything shaped like a key) from text."""

    def __init__(self, *secrets: str | None) -> None:
        known = {s for s in secrets if s and len(s) >= 4}
        self.secrets = sorted(
            known | {f for s in known for f in _base64_forms(s)}, key=len, reverse=True
        )
        self._partials = [
            re.compile(re.escape(s[:8]) + r"\S{0,64}?" + re.escape(s[-4:]))
            for s in known
            if len(s) >= 16
        ]

    def __call__(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, MASK)
        for partial in self._partials:
            text = partial.sub(MASK, text)
        text = _TOKEN.sub(self._fragment, text)
        return _SECRET_LIKE.sub(_mask_key_like, text)

    def _fragment(self, match: re.Match[str]) -> str:
        token = match.group(0)
        if any(token in s for s in self.secrets):
            return MASK
        return token

    def shorten(self, text: str, limit: int) -> str:
        """Redacted, then cut to ``limit`` characters (never the other way round)."""
        return shorten(self(text), limit)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mask_key_like(match: re.Match[str]) -> str:
    return "Bearer ***" if match.group(0).lower().startswith("bearer") else "sk-***"
