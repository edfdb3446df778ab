"""Schema-driven argument generation over a battery of real-world and tricky schemas.

Every generated value is checked with ``jsonschema`` directly (formats included), not
with the generator's own validation, so a generator bug cannot hide itself.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from jsonschema.validators import validator_for

from orchestrator.server.providers.argument_gen import (
    MAX_ITEMS,
    MAX_STRING,
    ArgumentGenerationError,
    MessageWords,
    generate_arguments,
)
from tests.support.tool_defs import DISPLAY_QUIZ

S = dict[str, Any]

# OpenAI strict mode: every property required, additionalProperties false, optional
# values as type unions with null.
STRICT_QUIZ: S = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "questions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "question_text": {"type": "string"},
                    "question_type": {
                        "type": "string",
                        "enum": ["MULTIPLE_CHOICE", "FREE_RESPONSE"],
                    },
                    "choices": {"type": ["array", "null"], "items": {"type": "string"}},
                },
                "required": ["question_text", "question_type", "choices"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["title", "questions"],
    "additionalProperties": False,
}

SCHEMAS: dict[str, S] = {
    "display_quiz (seed)": DISPLAY_QUIZ["parameters"],
    "display_quiz strict": STRICT_QUIZ,
    "get_weather (OpenAI docs)": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "City and country e.g. Bogotá, Colombia"},
            "units": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", None]},
        },
        "required": ["location", "units"],
        "additionalProperties": False,
    },
    "get_delivery_date": {
        "type": "object",
        "properties": {"order_id": {"type": "string", "description": "The customer's order ID."}},
        "required": ["order_id"],
        "additionalProperties": False,
    },
    "no parameters": {"type": "object", "properties": {}},
    "empty schema": {},
    "recursive UI (structured outputs docs)": {
        "type": "object",
        "properties": {
            "type": {
                "type": "string",
                "enum": ["div", "button", "header", "section", "field", "form"],
            },
            "label": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#"}},
            "attributes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
                    "required": ["name", "value"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["type", "label", "children", "attributes"],
        "additionalProperties": False,
    },
    "$defs linked list": {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
                },
                "required": ["value", "next"],
                "additionalProperties": False,
            }
        },
        "type": "object",
        "properties": {"head": {"$ref": "#/$defs/node"}},
        "required": ["head"],
        "additionalProperties": False,
    },
    "draft-07 definitions": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {
            "address": {
                "type": "object",
                "properties": {
                    "street": {"type": "string"},
                    "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
                },
                "required": ["street", "zip"],
            }
        },
        "type": "object",
        "properties": {
            "billing": {"$ref": "#/definitions/address"},
            "shipping": {"$ref": "#/definitions/address"},
        },
        "required": ["billing"],
    },
    "formats": {
        "type": "object",
        "properties": {
            "email": {"type": "string", "format": "email"},
            "when": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "site": {"type": "string", "format": "uri"},
            "uuid": {"type": "string", "format": "uuid"},
            "ip": {"type": "string", "format": "ipv4"},
            "ip6": {"type": "string", "format": "ipv6"},
            "host": {"type": "string", "format": "hostname"},
            "at": {"type": "string", "format": "time"},
            "emails": {
                "type": "array",
                "items": {"type": "string", "format": "email"},
                "uniqueItems": True,
                "minItems": 3,
            },
        },
        "required": ["email", "when", "day", "site", "uuid", "ip", "ip6", "host", "at", "emails"],
    },
    "patterns": {
        "type": "object",
        "properties": {
            "phone": {"type": "string", "pattern": "^\\d{3}-\\d{4}$"},
            "name": {"type": "string", "pattern": "^[A-Z][a-z]+$"},
            "code": {"type": "string", "pattern": "^(foo|bar)-[0-9]+(\\.[0-9]+)?$"},
            "sku": {"type": "string", "pattern": "^[A-Z]{2,4}_[^\\s]{3}$"},
            "hex": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
            "word": {"type": "string", "pattern": "\\w+@\\w+"},
        },
        "required": ["phone", "name", "code", "sku", "hex", "word"],
    },
    "numbers": {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": 3, "maximum": 7},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "half_steps": {"type": "number", "multipleOf": 0.5, "minimum": 2.2},
            "negative": {"type": "integer", "maximum": -10},
            "tiny": {"type": "integer", "exclusiveMinimum": 5, "exclusiveMaximum": 7},
            "evens": {
                "type": "array",
                "items": {"type": "integer", "multipleOf": 2},
                "uniqueItems": True,
                "minItems": 3,
            },
        },
        "required": ["count", "ratio", "half_steps", "negative", "tiny", "evens"],
    },
    "draft-04 numbers": {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {
            "positive": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
            "below_ten": {"type": "integer", "maximum": 10, "exclusiveMaximum": True, "minimum": 9},
        },
        "required": ["positive", "below_ten"],
    },
    "arrays": {
        "type": "object",
        "properties": {
            "three": {"type": "array", "items": {"type": "string"}, "minItems": 3},
            "at_most_one": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
            "colors": {
                "type": "array",
                "items": {"type": "string", "enum": ["red", "green", "blue"]},
                "uniqueItems": True,
                "minItems": 3,
            },
            "pair": {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "integer"}],
                "items": False,
            },
            "has_zero": {"type": "array", "items": {"type": "integer"}, "contains": {"const": 0}},
            "matrix": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "number"}, "minItems": 2},
                "minItems": 2,
            },
            "empty": {"type": "array", "maxItems": 0},
        },
        "required": ["three", "at_most_one", "colors", "pair", "has_zero", "matrix", "empty"],
    },
    "string lengths": {
        "type": "object",
        "properties": {
            "long": {"type": "string", "minLength": 40},
            "short": {"type": "string", "maxLength": 3},
            "exact": {"type": "string", "minLength": 5, "maxLength": 5},
        },
        "required": ["long", "short", "exact"],
    },
    "combinators": {
        "type": "object",
        "properties": {
            "merged": {
                "allOf": [
                    {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                    {"properties": {"b": {"type": "integer", "minimum": 10}}, "required": ["b"]},
                ]
            },
            "either": {"oneOf": [{"type": "string", "maxLength": 2}, {"type": "integer"}]},
            "shape": {
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {
                            "kind": {"const": "circle"},
                            "radius": {"type": "number", "minimum": 1},
                        },
                        "required": ["kind", "radius"],
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "properties": {"kind": {"const": "square"}, "side": {"type": "number"}},
                        "required": ["kind", "side"],
                        "additionalProperties": False,
                    },
                ]
            },
            "maybe": {"anyOf": [{"type": "null"}, {"type": "string", "format": "date"}]},
        },
        "required": ["merged", "either", "shape", "maybe"],
    },
    "const, default, examples": {
        "type": "object",
        "properties": {
            "version": {"const": 2},
            "mode": {"type": "string", "default": "fast"},
            "city": {"type": "string", "examples": ["Busan", "Daegu"]},
            "flag": {"type": "boolean"},
            "nothing": {"type": "null"},
            "anything": True,
        },
        "required": ["version", "mode", "city", "flag", "nothing", "anything"],
    },
    "maps": {
        "type": "object",
        "properties": {
            "scores": {
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 0},
                "minProperties": 2,
            },
            "labels": {
                "type": "object",
                "required": ["en", "ko"],
                "additionalProperties": {"type": "string", "minLength": 1},
            },
        },
        "required": ["scores", "labels"],
        "additionalProperties": False,
    },
    "untyped hints": {
        "type": "object",
        "properties": {
            "obj": {"properties": {"x": {"type": "integer"}}, "required": ["x"]},
            "arr": {"items": {"type": "string"}, "minItems": 1},
            "num": {"minimum": 2, "maximum": 2},
        },
        "required": ["obj", "arr", "num"],
    },
    "booking (nested, realistic)": {
        "type": "object",
        "properties": {
            "guest": {
                "type": "object",
                "properties": {
                    "full_name": {"type": "string", "minLength": 1},
                    "email": {"type": "string", "format": "email"},
                    "phone": {"type": "string"},
                },
                "required": ["full_name", "email"],
            },
            "check_in": {"type": "string", "format": "date"},
            "nights": {"type": "integer", "minimum": 1, "maximum": 30},
            "room_type": {"type": "string", "enum": ["single", "double", "suite"]},
            "extras": {
                "type": "array",
                "items": {"type": "string", "enum": ["breakfast", "parking", "late_checkout"]},
                "uniqueItems": True,
            },
            "notes": {"type": "string", "maxLength": 200},
        },
        "required": ["guest", "check_in", "nights", "room_type"],
    },
}

MESSAGES = [
    "",
    "Book a double room for 3 nights with booking, then call display_quiz about volcanoes",
    "display_quiz로 광합성에 대한 퀴즈를 만들어줘",
    "What's the weather in Bogotá in fahrenheit? Use get_weather. " + "Extra words here. " * 30,
]


def check(schema: S, value: Any) -> None:
    cls = validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    errors = list(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(value))
    assert not errors, f"{json.dumps(value, ensure_ascii=False)[:500]}: {errors[0].message}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@pytest.mark.parametrize("message", MESSAGES, ids=["empty", "english", "korean", "long"])
def test_generated_arguments_validate(name: str, message: str) -> None:
    schema = SCHEMAS[name]
    words = MessageWords.from_message(message, ["display_quiz", "get_weather", "booking"])
    for strict in (False, True):
        value = generate_arguments(name, schema, words, strict=strict)
        check(schema, value)
        # Deterministic: the same inputs give the same value.
        assert generate_arguments(name, schema, words, strict=strict) == value


def test_strict_quiz_fills_every_property_and_uses_both_types() -> None:
    words = MessageWords.from_message("display_quiz about the solar system", ["display_quiz"])
    value = generate_arguments("display_quiz", STRICT_QUIZ, words, strict=True)
    assert value["title"] == "The Solar System"
    assert [q["question_type"] for q in value["questions"]] == ["MULTIPLE_CHOICE", "FREE_RESPONSE"]
    assert all(set(q) == {"question_text", "question_type", "choices"} for q in value["questions"])
    assert value["questions"][0]["question_text"] == "Question 1 about the solar system?"


def test_message_words_numbers_and_enums_are_used() -> None:
    words = MessageWords.from_message("Book a suite for 4 nights with booking", ["booking"])
    value = generate_arguments("booking", SCHEMAS["booking (nested, realistic)"], words)
    assert value["nights"] == 4 and value["room_type"] == "suite"
    assert value["notes"] == "Book a suite for 4 nights with"


def test_a_number_out_of_range_in_the_message_is_not_used() -> None:
    words = MessageWords.from_message("stay 90 nights", [])
    value = generate_arguments("booking", SCHEMAS["booking (nested, realistic)"], words)
    assert value["nights"] == 1


def test_title_words_come_from_the_message() -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "topic": {"type": "string"},
            "query": {"type": "string"},
        },
        "required": ["title", "topic", "query"],
    }
    words = MessageWords.from_message(
        "Please create a quiz on Roman history using make_quiz", ["make_quiz"]
    )
    value = generate_arguments("make_quiz", schema, words)
    assert value["title"] == "Quiz on Roman History"
    assert value["topic"] == "quiz Roman history"
    assert value["query"] == "Please create a quiz on Roman history using"


def test_recursive_schema_terminates() -> None:
    value = generate_arguments(
        "ui", SCHEMAS["recursive UI (structured outputs docs)"], MessageWords()
    )
    depth, node = 0, value
    while node["children"]:
        node, depth = node["children"][0], depth + 1
    assert 1 <= depth <= 6


@pytest.mark.parametrize(
    "schema",
    [
        {
            "type": "object",
            "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 3}},
            "required": ["n"],
        },
        {
            "type": "object",
            "properties": {"s": {"type": "string", "minLength": 5, "maxLength": 2}},
            "required": ["s"],
        },
        {"type": "object", "properties": {"x": False}, "required": ["x"]},
        {"type": "object", "properties": {"r": {"$ref": "#/$defs/missing"}}, "required": ["r"]},
        {
            "type": "object",
            "properties": {
                "u": {"type": "array", "items": {"enum": ["a"]}, "uniqueItems": True, "minItems": 2}
            },
            "required": ["u"],
        },
    ],
    ids=["empty range", "impossible length", "false schema", "dangling ref", "too few unique"],
)
def test_unsatisfiable_schemas_fail_clearly(schema: S) -> None:
    with pytest.raises(ArgumentGenerationError) as e:
        generate_arguments("broken_fn", schema, MessageWords())
    assert "'broken_fn'" in str(e.value) and "schema" in str(e.value)


def test_ids_come_from_the_message_when_it_has_one() -> None:
    schema = SCHEMAS["get_delivery_date"]
    words = MessageWords.from_message(
        "When will order ORD-12345 arrive? get_delivery_date", ["get_delivery_date"]
    )
    assert generate_arguments("get_delivery_date", schema, words) == {"order_id": "ORD-12345"}
    assert generate_arguments("get_delivery_date", schema, MessageWords()) == {
        "order_id": "order_1"
    }


def test_one_letter_enum_values_are_not_matched_as_words() -> None:
    schema = {
        "type": "object",
        "properties": {"size": {"enum": ["S", "M", "L", "XL"]}},
        "required": ["size"],
    }
    assert generate_arguments("f", schema, MessageWords.from_message("make a shirt"))["size"] == "S"
    assert generate_arguments("f", schema, MessageWords.from_message("an XL shirt"))["size"] == "XL"


def test_code_properties_get_the_fenced_code_and_codes_stay_ids() -> None:
    schema = {
        "type": "object",
        "properties": {"source_code": {"type": "string"}, "zip_code": {"type": "string"}},
        "required": ["source_code", "zip_code"],
    }
    words = MessageWords.from_message("run_it for 04524:\n```python\nprint(1)\n```", ["run_it"])
    assert generate_arguments("run_it", schema, words) == {
        "source_code": "print(1)\n",
        "zip_code": "04524",
    }


def test_only_python_blocks_become_code_arguments() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}
    bash = MessageWords.from_message(
        "code_interpreter\n```bash\nrm -rf /tmp/x\n```", ["code_interpreter"]
    )
    assert generate_arguments("code_interpreter", schema, bash)["code"] != "rm -rf /tmp/x\n"
    py = MessageWords.from_message("code_interpreter\n```py\nprint(2)\n```", ["code_interpreter"])
    assert generate_arguments("code_interpreter", schema, py) == {"code": "print(2)\n"}


# -- bounds: a schema cannot make the generator build an unbounded value ----------------


@pytest.mark.parametrize(
    ("schema", "named"),
    [
        ({"type": "array", "minItems": 100_000_000}, "minItems 100000000"),
        ({"type": "array", "minItems": 5_000}, "minItems 5000"),
        ({"type": "string", "minLength": 500_000_000}, "minLength 500000000"),
        ({"type": "string", "minLength": 100_000}, "minLength 100000"),
        ({"type": "string", "pattern": "^a{100000}$"}, "does not match"),
        (
            {"type": "object", "minProperties": 50_000, "additionalProperties": {"type": "string"}},
            "minProperties 50000",
        ),
        # 500 x 500 items: each level is allowed, the product is not.
        (
            {"type": "array", "minItems": 500, "items": {"type": "array", "minItems": 500}},
            "more than",
        ),
    ],
    ids=["huge items", "items", "huge length", "length", "pattern", "properties", "nested"],
)
def test_oversized_schemas_are_refused_by_name(schema: S, named: str) -> None:
    wrapped = {"type": "object", "properties": {"big": schema}, "required": ["big"]}
    with pytest.raises(ArgumentGenerationError) as e:
        generate_arguments("hog", wrapped, MessageWords())
    assert "'hog'" in str(e.value) and named in str(e.value)


def test_values_at_the_bounds_are_still_made() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"type": "integer"}, "minItems": MAX_ITEMS},
            "text": {"type": "string", "minLength": MAX_STRING},
        },
        "required": ["items", "text"],
    }
    value = generate_arguments("edge", schema, MessageWords())
    assert len(value["items"]) == MAX_ITEMS and len(value["text"]) == MAX_STRING
    jsonschema.validate(value, schema)
