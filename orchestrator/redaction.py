"""One redaction for every log line and error message that may echo a secret.

Redact first, then shorten: a message cut before redaction can leave most of a key
behind (31 of 34 characters once reached ``run.last_error``). :class:`Redactor` removes
the configured secrets in the forms they are commonly echoed back: exact, a fragment
of 12 or more of their characters (a truncated echo), first 8 + last 4 with anything
between (``sk-proj-…wxyz``), base64 (standard and URL-safe, padded or not); and
anything shaped like a credential whatever its value: ``sk-...``, ``Bearer ...``,
``Basic ...``, a URL's ``user:password@`` and the values of key-like query parameters
(``?key=``, ``api_key=``, ``token=``, ...).

Logs go through the same redaction: :data:`log_redaction` is a :class:`logging.Filter`
the CLI puts on its log handlers (and the embedded server on uvicorn's), fed with the
secrets of the settings a command resolved (:meth:`RedactingFilter.add`).
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

_SECRET_LIKE = re.compile(
    # Basic: base64 with a digit or +/= in it (not the word in "Basic usage").
    r"\b(sk-[A-Za-z0-9_\-*]{3,}|Bearer\s+\S+"
    r"|Basic\s+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{6,}={0,2})",
    re.IGNORECASE,
)
# scheme://user:password@host: everything between // and @ goes.
_URL_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.\-]*://)[^\s/@?#'\"<>]+@", re.IGNORECASE)
# Query parameters (or key=value pairs in text) whose value is a credential.
_CREDENTIAL_NAMES = (
    r"(?:api[-_]?key|key|token|access[-_]?token|auth|secret|password|passwd|pwd|sig|signature)"
)
_CREDENTIAL_PARAM = re.compile(
    rf"(?<![A-Za-z0-9_\-])({_CREDENTIAL_NAMES}=)[^\s&#'\",;)]+", re.IGNORECASE
)
_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=.~]{12,}")
# Fragments shorter than this are too common to be evidence of a key.
MIN_FRAGMENT = 12
# A lowercase word ("orchestrator" in a key like sk-test-orchestrator) is no evidence
# either: a random key's 12 characters are almost never all lowercase letters.
_WORDS = re.compile(r"[a-z_\-.]+")
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
        text = _URL_USERINFO.sub(r"\1***@", text)
        text = _CREDENTIAL_PARAM.sub(r"\1***", text)
        return _SECRET_LIKE.sub(_mask_key_like, text)

    def _fragment(self, match: re.Match[str]) -> str:
        token = match.group(0)
        if not _WORDS.fullmatch(token) and any(token in s for s in self.secrets):
            return MASK
        return token

    def shorten(self, text: str, limit: int) -> str:
        """Redacted, then cut to ``limit`` characters (never the other way round)."""
        return shorten(self(text), limit)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mask_key_like(match: re.Match[str]) -> str:
    word = match.group(0)[:6].lower()
    if word.startswith(("bearer", "basic")):
        return f"{match.group(0).split()[0]} ***"
    return "sk-***"


def display_url(url: str) -> str:
    """The URL without user:password@ or a query string (either may hold a key)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: show none
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def url_secrets(url: str | None) -> tuple[str, ...]:
    """The credentials a URL carries: its password, ``user:password`` (what Basic auth
    encodes) and the values of key-like query parameters."""
    if not url:
        return ()
    parts = urlsplit(url)
    found: list[str] = []
    if parts.password:
        password = unquote(parts.password)
        found += [password, f"{unquote(parts.username or '')}:{password}"]
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        if re.fullmatch(_CREDENTIAL_NAMES, name, re.IGNORECASE):
            found.append(value)
    return tuple(found)


class RedactingFilter(logging.Filter):
    """Redacts every record a handler writes: its message, traceback and stack.

    Put on handlers (not loggers): a logger's filters do not see records propagated
    from its children, a handler's see everything it writes.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._redact = Redactor()

    def add(self, *secrets: str | None) -> None:
        """Also remove these (the keys and URL credentials of the resolved settings)."""
        with self._lock:
            new = {s for s in secrets if s} - self._secrets
            if new:
                self._secrets |= new
                self._redact = Redactor(*self._secrets)

    def redact(self, text: str) -> str:
        """``text`` without the secrets added so far (for output that is not a log record)."""
        return self._redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self._redact
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True

    def install(self, *logger_names: str) -> None:
        """On every handler of these loggers ("" is the root logger); idempotent."""
        for name in logger_names:
            for handler in logging.getLogger(name or None).handlers:
                if self not in handler.filters:
                    handler.addFilter(self)


_FORMATTER = logging.Formatter()
# The process's one log redaction (logging itself is process-wide).
log_redaction = RedactingFilter()
