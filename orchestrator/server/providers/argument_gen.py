"""Schema-driven arguments: a JSON value for a JSON Schema, deterministic and valid.

The local model calls functions with arguments made here from the function's
``parameters`` schema and the user's message. The rules, in order of preference for
each value:

- ``const``; an ``enum`` value the message mentions, else the enum's values in turn
  (the i-th item of an array takes the i-th value, so a quiz gets both question
  types); ``default``; ``examples`` (or OpenAPI ``example``);
- strings: a sample of the ``format`` (date, email, uri, uuid, ...); a string matching
  ``pattern``; else words of the message chosen by the property's name (``title``,
  ``name``, ``topic`` get a short phrase of the message; ``query``, ``text``,
  ``question``, ``description`` get the message or its gist; ``location``/``city`` a
  capitalised word of it), else the property's name and position ("Choice 2");
  ``minLength``/``maxLength`` are honoured;
- numbers: a number the message gives that fits, else the smallest value that fits
  ``minimum``/``maximum`` (exclusive too) and ``multipleOf``, 1 when unconstrained;
- objects: every property (so client code that reads an optional field finds it),
  ``required`` ones always, ``minProperties`` via ``additionalProperties``;
- arrays: two items (clamped to ``minItems``/``maxItems``), ``prefixItems``,
  ``uniqueItems``, ``contains``;
- ``$ref`` (local), ``allOf`` (merged), ``anyOf``/``oneOf`` (the first branch that
  works, ``null`` last), type lists (first non-null type).

The result is validated with ``jsonschema`` (formats included). If the full attempt
does not validate, a minimal one (required properties, ``minItems`` items) is tried;
if neither does, :class:`ArgumentGenerationError` says why, naming the function.
No randomness and no clock: the same schema and message give the same value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, relevance
from jsonschema.validators import validator_for

try:  # Python >= 3.11 keeps the regex parser here.
    import re._parser as _sre  # type: ignore[import-not-found]
    from re import _constants as _src  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants as _src  # type: ignore[no-redef]
    import sre_parse as _sre  # type: ignore[no-redef]


class ArgumentGenerationError(Exception):
    """No schema-valid value could be made; the message names what failed."""


class _TooLarge(ArgumentGenerationError):
    """The schema asks for a value beyond the generator's bounds."""


# Past this depth only required properties and minItems items are generated, so
# recursive schemas (trees, linked lists) terminate.
_OPTIONAL_DEPTH = 4
_MAX_DEPTH = 24
_DEFAULT_ITEMS = 2
# Bounds on what one schema can make the generator build: a schema asking for more
# (``minItems: 100000000``, ``minLength: 500000000``, nested arrays multiplying) is an
# error naming the field, not gigabytes allocated in the server.
MAX_ITEMS = 1_000
MAX_STRING = 65_536
MAX_PROPERTIES = 1_000
# Total work for one value: every value made (branches tried included) costs 1, every
# string character 1/64th. Caps nested multiplication and anyOf/oneOf backtracking.
MAX_WORK = 200_000

_FORMATS: dict[str, str] = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/",
    "iri": "https://example.com/",
    "url": "https://example.com/",
    "uri-reference": "/example",
    "iri-reference": "/example",
    "uri-template": "https://example.com/{id}",
    "uuid": "00000000-0000-4000-8000-000000000001",
    "json-pointer": "/example",
    "relative-json-pointer": "0/example",
    "regex": "^.*$",
    "byte": "aGVsbG8=",
    "binary": "data",
    "password": "password",
    "int32": "1",
    "int64": "1",
}

_STOPWORDS = frozenset(
    """a an the and or of to for with by via using use call run invoke please make create
    generate give show me us my our your i we you it this that these those then also now
    can could would should will just some into on in at from function tool""".split()  # noqa: SIM905
)
# Filler that often opens a request; dropped from the front of a phrase.
_LEADING_FILLER = frozenset(
    """please can could would you kindly make create generate give build write show call
    use run invoke me us a an the some""".split()  # noqa: SIM905
)
_TRAILING_FILLER = _STOPWORDS | {"please", "thanks"}
# What a request is about: the words after "about"/"on" ("a quiz about photosynthesis"),
# or before Korean "에 대한/에 관한/에 대해" ("광합성에 대한 퀴즈").
_TOPIC = re.compile(
    r"\b(?:about|on|regarding|concerning)\s+(.+)$|(\S+?)\s*에\s*(?:대한|관한|대해|대하여)",
    re.IGNORECASE,
)

_TITLE_NAMES = frozenset({"title", "heading", "headline", "caption", "label", "subject"})
_PHRASE_NAMES = frozenset({"name", "topic", "theme", "category", "tag", "keyword", "keywords"})
_QUERY_NAMES = frozenset({"query", "q", "search", "term", "terms", "question", "prompt"})
_TEXT_NAMES = frozenset(
    {
        "text",
        "content",
        "body",
        "message",
        "description",
        "summary",
        "answer",
        "comment",
        "note",
        "notes",
        "reason",
        "explanation",
        "instructions",
        "input",
        "details",
        "feedback",
    }
)
_PLACE_NAMES = frozenset({"location", "city", "place", "region", "country", "destination"})

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_FENCE = re.compile(r"```.*?(?:```|$)", re.S)
_IDENTIFIER = re.compile(r"(?<![\w-])[A-Za-z_-]*\d[\w-]*(?![\w-])")
_ID_NAMES = frozenset({"id", "number", "code", "sku", "ref", "reference", "no"})
# ```python ... ```, ```py ...```, ``` ... ``` (an unlabelled block is taken as Python);
# blocks in other languages (```bash) are never run.
_PYTHON_BLOCK = re.compile(r"```[ \t]*(python3?|py)?[ \t]*\n(.*?)```", re.S | re.IGNORECASE)
_CODE_NAMES = frozenset({"code", "script", "source", "program", "snippet"})
_CODE_QUALIFIERS = frozenset({"source", "python", "py", "program", "script", "snippet", "code"})


@dataclass
class MessageWords:
    """What a user message offers for free values: its text, phrase, words, numbers."""

    text: str = ""
    words: list[str] = field(default_factory=list)
    numbers: list[float] = field(default_factory=list)
    # The message's fenced code blocks, for a property such as ``code`` (a chat client
    # offering a code-running function, e.g. the chat provider's code_interpreter).
    code: str = ""

    @classmethod
    def from_message(cls, message: str, drop: list[str] | tuple[str, ...] = ()) -> MessageWords:
        """Words of ``message`` without code blocks and without the names in ``drop``."""
        code = python_blocks(message) or ""
        text = _FENCE.sub(" ", message)
        for name in drop:
            text = name_pattern(name, particles=True).sub(" ", text)
        text = " ".join(text.split())
        numbers = [float(n) for n in _NUMBER.findall(text)]
        return cls(text=text, words=_WORD.findall(text), numbers=numbers, code=code)

    def phrase(self, limit: int = 8) -> str:
        """A short noun-phrase-like gist: fillers trimmed from both ends."""
        words = list(self.words)
        while words and words[0].lower() in _LEADING_FILLER:
            words.pop(0)
        words = words[:limit]
        while words and words[-1].lower() in _TRAILING_FILLER:
            words.pop()
        return " ".join(words)

    def topic(self, limit: int = 6) -> str:
        phrase = self.phrase(12)
        found = _TOPIC.search(phrase)
        if found:
            words = (found.group(1) or found.group(2)).split()[:limit]
            while words and words[-1].lower() in _TRAILING_FILLER:
                words.pop()
            if words:
                return " ".join(words)
        return self.keywords(limit) or phrase

    def keywords(self, limit: int = 6) -> str:
        return " ".join([w for w in self.words if w.lower() not in _STOPWORDS][:limit])

    def identifier(self) -> str | None:
        # A token with a digit in it ("order 12345", "ticket ABC-42"): likely an id.
        found = _IDENTIFIER.search(self.text)
        return found.group(0) if found else None

    def proper_noun(self) -> str | None:
        # A capitalised word that does not open the message: likely a name or place.
        for w in self.words[1:]:
            if w[:1].isupper() and w.lower() not in _STOPWORDS:
                return w
        return None


def python_blocks(message: str) -> str | None:
    """The message's Python (or unlabelled) fenced code blocks, in order, as one program."""
    blocks = [m.group(2) for m in _PYTHON_BLOCK.finditer(message)]
    code = "\n\n".join(b.strip("\n") for b in blocks)
    return code + "\n" if code.strip() else None


# Korean particles that may follow a function name directly ("display_quiz로").
_PARTICLES = "(?:으로|로|를|을|은|는|이|가|와|과|에게|에서|의|도|함수)?"


def name_pattern(name: str, *, particles: bool = False) -> re.Pattern[str]:
    """``name`` as a whole identifier, case-insensitive.

    The boundary is ASCII identifier characters, not ``\\b``: a Korean particle glued
    to the name (``display_quiz로``) still counts as naming it.
    """
    tail = _PARTICLES if particles else ""
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_]){tail}", re.IGNORECASE)


def make_validator(schema: dict[str, Any]) -> Any:
    """A jsonschema validator for ``schema`` (its own ``$schema``, else 2020-12)."""
    cls = validator_for(schema, default=Draft202012Validator)
    # The draft's own format checker: FormatChecker() mixes all drafts (draft 3's
    # "time" would reject RFC 3339 times).
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_problem(schema: Any, instance: Any, *, limit: int = 3) -> str | None:
    """Why ``instance`` does not validate against ``schema`` (None when it does).

    The most relevant problems first (at most ``limit``), each with where it is,
    e.g. ``questions[0].question_type: 'ESSAY' is not one of [...]``.
    """
    if not isinstance(schema, dict) or not schema:
        return None
    try:
        errors = sorted(make_validator(schema).iter_errors(instance), key=relevance, reverse=True)
    except SchemaError as exc:
        return f"the schema itself is invalid: {exc.message}"
    if not errors:
        return None
    problems: list[str] = []
    for error in errors:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        problem = f"{where.lstrip('.') or '(top level)'}: {error.message}"
        if problem not in problems:
            problems.append(problem)
    more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return "; ".join(problems[:limit]) + more


def _generate(
    schema: dict[str, Any], message: MessageWords, *, strict: bool
) -> tuple[bool, Any, str]:
    """(True, a value valid against ``schema``, "") — a full value first, then a minimal
    one — or (False, None, the last problem found)."""
    problem = ""
    for minimal in (False, True):
        try:
            value = _Generator(schema, message, minimal=minimal, strict=strict).value(
                schema, None, 0, 0
            )
        except _TooLarge as exc:
            return False, None, str(exc)  # the minimal attempt would be just as large
        except ArgumentGenerationError as exc:
            problem = str(exc)
            continue
        problem = schema_problem(schema, value) or ""
        if not problem:
            return True, value, ""
    return False, None, problem


def generate_arguments(
    function: str, parameters: dict[str, Any], message: MessageWords, *, strict: bool = False
) -> dict[str, Any]:
    """Arguments for ``function`` valid against its ``parameters`` schema."""
    if not parameters:
        return {}
    ok, value, problem = _generate(parameters, message, strict=strict)
    if not ok:
        raise ArgumentGenerationError(
            f"the local model could not make arguments for function {function!r} that satisfy "
            f"its parameters schema ({problem}); simplify the schema or queue a script step "
            "with explicit arguments"
        )
    if not isinstance(value, dict):
        raise ArgumentGenerationError(
            f"function {function!r}: its parameters schema must describe an object, "
            f"but it gave {type(value).__name__}"
        )
    return value


def generate_value(schema: dict[str, Any], message: MessageWords, *, label: str) -> Any:
    """A value valid against ``schema`` (e.g. a ``json_schema`` response format)."""
    ok, value, problem = _generate(schema, message, strict=True)
    if not ok:
        raise ArgumentGenerationError(
            f"the local model could not make a value for {label} that satisfies its schema "
            f"({problem})"
        )
    return value


def _words_of_name(name: str | None) -> list[str]:
    if not name:
        return []
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return [w.lower() for w in re.split(r"[\s_\-.]+", spaced) if w]


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


class _Generator:
    def __init__(
        self, root: dict[str, Any], message: MessageWords, *, minimal: bool, strict: bool
    ) -> None:
        self.root = root
        self.msg = message
        self.minimal = minimal
        self.strict = strict
        self.work = 0

    def spend(self, units: int, name: str | None) -> None:
        self.work += units
        if self.work > MAX_WORK:
            raise _TooLarge(
                f"{name or 'the value'}: the schema asks for a larger value than the local "
                f"model makes (more than {MAX_WORK} values in all, counting nested arrays "
                "and anyOf/oneOf branches tried)"
            )

    # -- dispatch -------------------------------------------------------------------

    def value(self, schema: Any, name: str | None, index: int, depth: int) -> Any:
        self.spend(1, name)
        if depth > _MAX_DEPTH:
            raise ArgumentGenerationError(
                f"{name or 'a value'}: the schema nests deeper than {_MAX_DEPTH} levels "
                "through required properties"
            )
        if schema is True or schema == {}:
            return self.string({}, name, index)
        if schema is False:
            raise ArgumentGenerationError(f"{name or 'a value'}: the schema allows no value")
        if not isinstance(schema, dict):
            raise ArgumentGenerationError(f"{name or 'a value'}: {schema!r} is not a schema")
        if "$ref" in schema:
            target = self.resolve(schema["$ref"])
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            merged = {**target, **rest} if rest else target
            return self.value(merged, name, index, depth + 1)
        if "allOf" in schema:
            return self.value(self.merge(schema), name, index, depth)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.choose_enum(schema["enum"], index)
        if "default" in schema and not self.minimal:
            return schema["default"]
        examples = schema.get("examples")
        if isinstance(examples, list) and examples:
            return examples[index % len(examples)]
        if "example" in schema:
            return schema["example"]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self.branch(schema, key, name, index, depth)
        kind = self.type_of(schema)
        if kind == "object":
            return self.object(schema, index, depth)
        if kind == "array":
            return self.array(schema, name, depth)
        if kind == "string":
            return self.string(schema, name, index)
        if kind in ("integer", "number"):
            return self.number(schema, kind, index, depth)
        if kind == "boolean":
            return index % 2 == 0
        return None  # "null"

    def type_of(self, schema: dict[str, Any]) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):
            non_null = [k for k in kind if k != "null"]
            return non_null[0] if non_null else "null"
        if isinstance(kind, str):
            return kind
        if "properties" in schema or "required" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema or "minItems" in schema:
            return "array"
        if any(k in schema for k in ("minimum", "maximum", "multipleOf", "exclusiveMinimum")):
            return "number"
        return "string"

    # -- combinators ----------------------------------------------------------------

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise ArgumentGenerationError(f"$ref {ref!r}: only local references are supported")
        node: Any = self.root
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise ArgumentGenerationError(f"$ref {ref!r} does not resolve in the schema")
        return node

    def merge(self, schema: dict[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            if isinstance(part, dict) and "$ref" in part:
                part = {
                    **self.resolve(part["$ref"]),
                    **{k: v for k, v in part.items() if k != "$ref"},
                }
            if not isinstance(part, dict):
                continue
            if "allOf" in part:
                part = self.merge(part)
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = sorted(set(merged.get("required", [])) | set(value))
                else:
                    merged.setdefault(key, value)
        return merged

    def branch(
        self, schema: dict[str, Any], key: str, name: str | None, index: int, depth: int
    ) -> Any:
        base = {k: v for k, v in schema.items() if k != key}
        options = [b for b in schema[key] if isinstance(b, (dict, bool))]
        # Prefer a real value over null.
        options.sort(key=lambda b: isinstance(b, dict) and b.get("type") == "null")
        last: ArgumentGenerationError | None = None
        for option in options:
            candidate_schema = {**base, **option} if isinstance(option, dict) else option
            try:
                candidate = self.value(candidate_schema, name, index, depth + 1)
            except ArgumentGenerationError as exc:
                last = exc
                continue
            if schema_problem(self.with_defs(candidate_schema), candidate) is not None:
                continue
            if key == "oneOf":
                matches = sum(
                    schema_problem(
                        self.with_defs({**base, **o} if isinstance(o, dict) else o), candidate
                    )
                    is None
                    for o in options
                )
                if matches != 1:
                    continue
            return candidate
        raise last or ArgumentGenerationError(
            f"{name or 'a value'}: no branch of {key} could be satisfied"
        )

    def with_defs(self, schema: Any) -> Any:
        """``schema`` with the root's definitions, so local $refs inside it resolve."""
        if not isinstance(schema, dict):
            return schema
        extra = {k: self.root[k] for k in ("$defs", "definitions") if k in self.root}
        return {**extra, **schema} if extra else schema

    def choose_enum(self, values: list[Any], index: int) -> Any:
        # A value the user mentions wins ("in celsius" -> unit "celsius").
        if self.msg.text:
            for value in values:
                # Two characters at least: a one-letter enum ("a") would match articles.
                if (
                    isinstance(value, str)
                    and len(value) > 1
                    and name_pattern(value).search(self.msg.text)
                ):
                    return value
        return values[index % len(values)]

    # -- objects and arrays -----------------------------------------------------------

    def object(self, schema: dict[str, Any], index: int, depth: int) -> dict[str, Any]:
        # ``index``: the object's position in an enclosing array; its properties take
        # it, so the i-th quiz question gets the i-th question type.
        props: dict[str, Any] = schema.get("properties") or {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        include_optional = not self.minimal and depth < _OPTIONAL_DEPTH
        out: dict[str, Any] = {}
        for key, sub in props.items():
            if key in required or include_optional or self.strict:
                if key not in required and depth >= _OPTIONAL_DEPTH:
                    continue
                out[key] = self.value(sub, key, index, depth + 1)
        extra = schema.get("additionalProperties", True)
        for key in required:
            if key not in out:
                sub = extra if isinstance(extra, dict) else {}
                out[key] = self.value(sub, key, index, depth + 1)
        want = schema.get("minProperties", 0)
        if isinstance(want, int) and want > MAX_PROPERTIES and extra is not False:
            raise _TooLarge(
                f"minProperties {want} is more than the local model makes "
                f"(at most {MAX_PROPERTIES} properties)"
            )
        n = 0
        while len(out) < want and extra is not False:
            n += 1
            key = f"key_{n}"
            if key not in out:
                out[key] = self.value(extra if isinstance(extra, dict) else {}, key, n, depth + 1)
        return out

    def array(self, schema: dict[str, Any], name: str | None, depth: int) -> list[Any]:
        lo = int(schema.get("minItems", 0))
        if lo > MAX_ITEMS:
            raise _TooLarge(
                f"{name or 'an array'}: minItems {lo} is more than the local model makes "
                f"(at most {MAX_ITEMS} items)"
            )
        hi = schema.get("maxItems")
        prefix = schema.get("prefixItems")
        items = schema.get("items", {})
        if isinstance(items, list):  # draft 4-7 tuple form
            prefix, items = items, schema.get("additionalItems", {})
        count = lo if self.minimal or depth >= _OPTIONAL_DEPTH else max(lo, _DEFAULT_ITEMS)
        if isinstance(prefix, list):
            count = max(count, min(len(prefix), count if items is False else len(prefix)))
        if hi is not None:
            count = min(count, int(hi))
        if items is False and isinstance(prefix, list):
            count = min(count, len(prefix))
        item_name = _singular(name) if name else None
        out: list[Any] = []
        for i in range(count):
            sub = prefix[i] if isinstance(prefix, list) and i < len(prefix) else items
            out.append(self.value(sub, item_name, i, depth + 1))
        if schema.get("uniqueItems"):
            out = self.unique(out, lo)
        contains = schema.get("contains")
        if isinstance(contains, dict) and not any(
            schema_problem(self.with_defs(contains), v) is None for v in out
        ):
            needed = self.value(contains, item_name, 0, depth + 1)
            if out and (hi is not None and len(out) >= int(hi)):
                out[0] = needed
            else:
                out.insert(0, needed)
        return out

    @staticmethod
    def unique(values: list[Any], minimum: int) -> list[Any]:
        seen: list[Any] = []
        for v in values:
            if v not in seen:
                seen.append(v)
        # Too few distinct values for minItems: keep the duplicates and let validation
        # report it (the minimal attempt or the error message follows).
        return seen if len(seen) >= minimum else values

    # -- scalars ------------------------------------------------------------------------

    def _string(self, schema: dict[str, Any], name: str | None, index: int) -> str:
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return self.formatted(fmt, index)
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            made = _from_pattern(pattern, index)
            if made is not None:
                return self.fit_length(made, schema, pad="0")
        return self.fit_length(self.free_text(name, index), schema)

    def string(self, schema: dict[str, Any], name: str | None, index: int) -> str:
        lo = schema.get("minLength")
        if isinstance(lo, int) and lo > MAX_STRING:
            raise _TooLarge(
                f"{name or 'a string'}: minLength {lo} is more than the local model makes "
                f"(at most {MAX_STRING} characters)"
            )
        text = self._string(schema, name, index)
        self.spend(len(text) // 64, name)
        return text

    @staticmethod
    def formatted(fmt: str, index: int) -> str:
        value = _FORMATS[fmt]
        if index:
            if fmt in ("email", "idn-email"):
                value = f"user{index + 1}@example.com"
            elif fmt == "uuid":
                value = f"00000000-0000-4000-8000-{index + 1:012d}"
            elif fmt in ("uri", "iri", "url"):
                value = f"https://example.com/{index + 1}"
            elif fmt == "date":
                value = f"2024-01-{min(index + 1, 28):02d}"
            elif fmt == "date-time":
                value = f"2024-01-{min(index + 1, 28):02d}T00:00:00Z"
        return value

    def free_text(self, name: str | None, index: int) -> str:
        words = _words_of_name(name)
        last = words[-1] if words else ""
        label = " ".join(words).capitalize() if words else "Value"
        suffix = f" {index + 1}" if index else ""
        msg = self.msg
        if "email" in words:
            return f"user{index + 1 if index else ''}@example.com"
        if last in ("url", "uri", "link", "website", "href", "homepage"):
            return f"https://example.com/{index + 1 if index else ''}"
        if last in ("lang", "language", "locale"):
            return "en"
        if last == "currency":
            return "USD"
        if last == "phone":
            return "+1-555-0100"
        if last == "date" or words[-2:] == ["date"]:
            return "2024-01-01"
        # "code", "source_code", "python_code" with a fenced block are code; "zip_code"
        # and "promo_code" are ids (below).
        if last in _CODE_NAMES and msg.code and set(words[:-1]) <= _CODE_QUALIFIERS:
            return msg.code
        if last in _ID_NAMES and (len(words) > 1 or last == "id"):
            found = msg.identifier() if index == 0 else None
            return found or f"{words[0] if len(words) > 1 else 'id'}_{index + 1}"
        if not msg.phrase():
            return f"{label} {index + 1}"
        if last in _TITLE_NAMES:
            phrase = msg.phrase(8)
            return (_title_case(phrase) if phrase else label) + suffix
        if last in _PHRASE_NAMES:
            return (msg.keywords(4) or msg.phrase(4) or label) + suffix
        if last in _PLACE_NAMES:
            return msg.proper_noun() or msg.keywords(2) or label
        if last == "question" or (words and words[0] == "question"):
            return f"Question {index + 1} about {msg.topic()}?"
        if last in _QUERY_NAMES:
            return (msg.text if not index else f"{msg.keywords(6)}{suffix}") or label
        if last in _TEXT_NAMES:
            return (msg.text + suffix) if msg.text else label
        # Anything else: its own name and position, e.g. "Choice 2".
        return f"{label} {index + 1}"

    @staticmethod
    def fit_length(text: str, schema: dict[str, Any], pad: str = "x") -> str:
        lo = schema.get("minLength")
        hi = schema.get("maxLength")
        if isinstance(hi, int) and len(text) > hi:
            text = text[:hi].rstrip() or text[:hi]
        if isinstance(lo, int) and len(text) < lo:
            text = text + pad * (lo - len(text))
        return text

    def number(self, schema: dict[str, Any], kind: str, index: int, depth: int) -> int | float:
        integer = kind == "integer"
        lo, lo_excl = _bound(schema, "minimum", "exclusiveMinimum")
        hi, hi_excl = _bound(schema, "maximum", "exclusiveMaximum")
        step = schema.get("multipleOf")

        def fits(v: float) -> bool:
            if integer and v != int(v):
                return False
            if lo is not None and (v < lo or (lo_excl and v == lo)):
                return False
            if hi is not None and (v > hi or (hi_excl and v == hi)):
                return False
            if isinstance(step, (int, float)) and step > 0:
                q = v / step
                if abs(q - round(q)) > 1e-9:
                    return False
            return True

        def out(v: float) -> int | float:
            return int(v) if integer or float(v).is_integer() else v

        # A number the user gave ("for 3 days"), for top-level values.
        if depth <= 1 and index == 0:
            for n in self.msg.numbers:
                if fits(n):
                    return out(n)
        candidates: list[float] = []
        if isinstance(step, (int, float)) and step > 0:
            start = lo if lo is not None else 1
            first = math.ceil(start / step) * step
            candidates += [first + step * (index + k) for k in range(3)]
            candidates += [first + step * k for k in range(3)]
        base = lo if lo is not None else (min(1, hi) if hi is not None else 1)
        candidates += [base + index, base + 1 + index, base, base + 1]
        if integer:
            candidates += [math.floor(base) + 1, math.ceil(base)]
        if lo is not None and hi is not None:
            candidates.append((lo + hi) / 2)
            if integer:
                candidates.append(math.ceil((lo + hi) / 2))
        if hi is not None:
            candidates += [hi, hi - 1]
        for v in candidates:
            if fits(v):
                return out(v)
        raise ArgumentGenerationError(
            f"no {kind} satisfies minimum/maximum/multipleOf in {schema!r}"
        )


def _bound(schema: dict[str, Any], inclusive: str, exclusive: str) -> tuple[float | None, bool]:
    value = schema.get(inclusive)
    excl = schema.get(exclusive)
    if isinstance(excl, bool):  # draft 4: a flag on minimum/maximum
        return (value, excl) if isinstance(value, (int, float)) else (None, False)
    if isinstance(excl, (int, float)) and (value is None or excl >= value):
        return excl, True
    return (value, False) if isinstance(value, (int, float)) else (None, False)


_SMALL_WORDS = frozenset("a an the of on in and or for to with about at by from".split())  # noqa: SIM905


def _title_case(text: str) -> str:
    """Headline style for ASCII words: "the solar system" -> "The Solar System"."""
    words = text.split()
    if words and words[0].lower() in ("about", "on", "regarding", "concerning") and len(words) > 1:
        words = words[1:]  # "(a quiz) about X" -> "X"
    out = []
    for i, word in enumerate(words):
        if not word.isascii() or (i and word.lower() in _SMALL_WORDS):
            out.append(word)
        else:
            out.append("-".join(part[:1].upper() + part[1:] for part in word.split("-")))
    return " ".join(out)


# -- strings matching a regex -------------------------------------------------------

_CANDIDATE_CHARS = "a0A_ -.x9Z"


def _from_pattern(pattern: str, index: int) -> str | None:
    """A string matching ``pattern`` (via the regex parser), or None if unsupported."""
    try:
        parsed = _sre.parse(pattern)
        made = _emit(list(parsed), {}, index)
    except Exception:
        return None
    try:
        return made if re.search(pattern, made) else None
    except re.error:
        return None


def _emit(items: list[tuple[Any, Any]], groups: dict[int, str], index: int) -> str:
    out: list[str] = []
    for op, av in items:
        if op is _src.LITERAL:
            out.append(chr(av))
        elif op is _src.NOT_LITERAL:
            out.append("a" if chr(av) != "a" else "b")
        elif op is _src.ANY:
            out.append("a")
        elif op is _src.IN:
            out.append(_class_char(av, index))
        elif op is _src.BRANCH:
            out.append(_emit(list(av[1][0]), groups, index))
        elif op is _src.SUBPATTERN:
            group, _, _, sub = av
            text = _emit(list(sub), groups, index)
            if group is not None:
                groups[group] = text
            out.append(text)
        elif op in (_src.MAX_REPEAT, _src.MIN_REPEAT, getattr(_src, "POSSESSIVE_REPEAT", None)):
            lo, _hi, sub = av
            part = _emit(list(sub), groups, index)
            if len(part) * lo > MAX_STRING:  # "a{1000000000}": no such string is made
                raise ValueError("the pattern asks for too long a string")
            out.append(part * lo)
        elif op is _src.GROUPREF:
            out.append(groups.get(av, ""))
        elif op is _src.CATEGORY:
            out.append(_category_char(av))
        elif op in (_src.AT, _src.ASSERT, _src.ASSERT_NOT):
            continue
        else:
            raise ValueError(f"unsupported regex construct {op}")
    made = "".join(out)
    if len(made) > MAX_STRING:
        raise ValueError("the pattern asks for too long a string")
    return made


def _category_char(category: Any) -> str:
    name = str(category)
    if "NOT_DIGIT" in name or "NOT_SPACE" in name:
        return "a"
    if "DIGIT" in name:
        return "0"
    if "NOT_WORD" in name:
        return "-"
    if "WORD" in name:
        return "a"
    if "SPACE" in name:
        return " "
    return "a"


def _class_char(items: list[tuple[Any, Any]], index: int) -> str:
    negate = any(op is _src.NEGATE for op, _ in items)
    members = [(op, av) for op, av in items if op is not _src.NEGATE]

    def member(ch: str) -> bool:
        code = ord(ch)
        for op, av in members:
            if op is _src.LITERAL and av == code:
                return True
            if op is _src.RANGE and av[0] <= code <= av[1]:
                return True
            if op is _src.CATEGORY:
                cat = str(av)
                if "DIGIT" in cat and (ch.isdigit() != ("NOT_" in cat)):
                    return True
                if "SPACE" in cat and (ch.isspace() != ("NOT_" in cat)):
                    return True
                if "WORD" in cat and ((ch.isalnum() or ch == "_") != ("NOT_" in cat)):
                    return True
        return False

    if not negate:
        # The first member, so "[A-Z]" gives "A"; a literal set gives its first literal.
        op, av = members[0]
        if op is _src.LITERAL:
            return chr(av)
        if op is _src.RANGE:
            return chr(av[0])
    for ch in _CANDIDATE_CHARS:
        if member(ch) != negate:
            return ch
    raise ValueError("no character fits the class")
