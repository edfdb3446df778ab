"""vector_stores/{id}/search over HTTP: ranking (English and Korean), scores, filters,
and text extraction from PDF, HTML, JSON and CSV."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from orchestrator.server.tools.file_search import FALLBACK_SCALE
from tests.support.wire_check import SpecChecker

ENGLISH = {
    "returns.md": (
        "# Returns\nYou can return an item within 30 days of delivery. Bring the receipt; "
        "refunds go back to the original card.",
        {"category": "policy", "year": 2024, "public": True},
    ),
    "shipping.md": (
        "# Shipping\nOrders leave our Busan warehouse daily. Track your package with the "
        "tracking number in the confirmation email; couriers deliver in three days.",
        {"category": "policy", "year": 2021, "public": True},
    ),
    "warranty.md": (
        "# Warranty\nThe warranty covers manufacturing defects for two years. Repairs are "
        "free; accidental damage is not covered.",
        {"category": "product", "year": 2023, "public": False},
    ),
    "privacy.md": (
        "# Privacy\nWe store personal data only as long as needed. Cookies remember your "
        "cart; you can refuse cookies in the settings.",
        {"category": "legal", "year": 2019},
    ),
    "gpt2.txt": (
        "Language models are unsupervised multitask learners. Trained on WebText, the "
        "model performs zero-shot transfer to downstream tasks without fine-tuning.",
        {"category": "science", "year": 2019, "public": True},
    ),
    "geometry.txt": (
        "In right triangles the square of the hypotenuse equals the sum of the squares of "
        "the other two sides: the Pythagorean theorem.",
        {"category": "science", "year": 2020, "public": True},
    ),
}

KOREAN = {
    "fruit.txt": "나는 사과를 좋아한다. 사과는 빨갛고 달다. 아침마다 사과를 한 개씩 먹는다.",
    "weather.txt": "오늘 서울의 날씨는 맑고 기온은 25도이다. 내일은 비가 온다고 한다.",
    "math_ko.txt": "피타고라스 정리는 직각삼각형에서 빗변의 제곱이 두 변의 제곱의 합과 같다는 정리이다.",
    "refund_ko.txt": "환불은 구매일로부터 30일 이내에 가능합니다. 영수증을 꼭 지참해 주세요.",
    "api_ko.txt": "이 문서는 API를 호출하는 방법을 설명합니다. 먼저 키를 발급받으세요.",
}


def _pdf(pages: list[str]) -> bytes:
    """A minimal PDF with one Helvetica text line per line of each page."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    n = len(pages)
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(f'{4 + 2 * i} 0 R' for i in range(n))}] /Count {n} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        shown = " ".join(f"({esc(line)}) '" for line in text.split("\n"))
        stream = f"BT /F1 12 Tf 72 740 Td 16 TL {shown} ET"
        objs.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
        )
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{off:010d} 00000 n \n" for off in offsets).encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


@pytest.fixture(scope="module")
def corpus(server) -> Iterator[dict[str, Any]]:
    """One English and one Korean vector store, indexed once for the module."""
    checker = SpecChecker()
    client = server.client(checker)
    en = client.vector_stores.create(name="english")
    ids: dict[str, str] = {}
    files = []
    for name, (text, attrs) in ENGLISH.items():
        ids[name] = client.files.create(file=(name, text.encode()), purpose="assistants").id
        files.append({"file_id": ids[name], "attributes": attrs})
    batch = client.vector_stores.file_batches.create_and_poll(vector_store_id=en.id, files=files)
    assert batch.file_counts.completed == len(ENGLISH)
    ko = client.vector_stores.create(name="korean")
    streams = [(name, text.encode()) for name, text in KOREAN.items()]
    batch = client.vector_stores.file_batches.upload_and_poll(vector_store_id=ko.id, files=streams)
    assert batch.file_counts.completed == len(KOREAN)
    for f in client.vector_stores.files.list(ko.id, limit=100):
        ids[client.files.retrieve(f.id).filename] = f.id
    yield {"client": client, "en": en.id, "ko": ko.id, "ids": ids}
    assert not checker.violations, checker.violations


def _names(page: Any) -> list[str]:
    return [r.filename for r in page.data]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("How long do I have to return an item?", "returns.md"),
        ("track my package", "shipping.md"),
        ("refund to my card", "returns.md"),
        ("Does the warranty cover defects?", "warranty.md"),
        ("cookies", "privacy.md"),
        ("zero-shot language models", "gpt2.txt"),
        ("hypotenuse of a right triangle", "geometry.txt"),
    ],
)
def test_english_queries_rank_the_right_document_first(corpus, query: str, expected: str) -> None:
    page = corpus["client"].vector_stores.search(corpus["en"], query=query)
    assert _names(page)[0] == expected
    assert page.data[0].file_id == corpus["ids"][expected]
    assert page.data[0].content[0].type == "text"
    assert page.data[0].content[0].text.startswith(ENGLISH[expected][0][:20])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("사과", "fruit.txt"),  # the text only has 사과를 / 사과는 (particles attached)
        ("날씨가 어때?", "weather.txt"),
        ("직각삼각형의 빗변", "math_ko.txt"),
        ("삼각형", "math_ko.txt"),  # inside the compound 직각삼각형
        ("환불 기간", "refund_ko.txt"),
        ("API 호출", "api_ko.txt"),  # Latin word with a particle: API를
    ],
)
def test_korean_queries_rank_the_right_document_first(corpus, query: str, expected: str) -> None:
    page = corpus["client"].vector_stores.search(corpus["ko"], query=query)
    assert _names(page)[0] == expected


def test_scores_threshold_and_max_results(corpus) -> None:
    client = corpus["client"]
    page = client.vector_stores.search(corpus["en"], query="return policy cookies warranty")
    scores = [r.score for r in page.data]
    assert len(scores) >= 3
    assert all(0 < s <= 1 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert page.search_query == ["return policy cookies warranty"]

    top = client.vector_stores.search(
        corpus["en"], query="return policy cookies warranty", max_num_results=1
    )
    assert len(top.data) == 1 and top.data[0].file_id == page.data[0].file_id

    cut = (scores[0] + scores[-1]) / 2
    above = client.vector_stores.search(
        corpus["en"],
        query="return policy cookies warranty",
        ranking_options={"score_threshold": cut},
        rewrite_query=True,
    )
    assert 0 < len(above.data) < len(scores)
    assert all(r.score >= cut for r in above.data)

    # No word matches: the n-gram fallback answers, with low scores that say so.
    unmatched = client.vector_stores.search(corpus["en"], query="xylophone quokka")
    assert unmatched.data and all(r.score <= FALLBACK_SCALE for r in unmatched.data)
    nothing = client.vector_stores.search(
        corpus["en"],
        query="xylophone quokka",
        ranking_options={"score_threshold": FALLBACK_SCALE + 0.01},
    )
    assert nothing.data == [] and nothing.has_more is False


def test_a_list_of_queries_merges_results(corpus) -> None:
    page = corpus["client"].vector_stores.search(corpus["en"], query=["cookies", "hypotenuse"])
    assert set(_names(page)[:2]) == {"privacy.md", "geometry.txt"}
    assert page.search_query == ["cookies", "hypotenuse"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"type": "eq", "key": "category", "value": "policy"}, {"returns.md", "shipping.md"}),
        (
            {"type": "ne", "key": "category", "value": "policy"},
            {"warranty.md", "privacy.md", "gpt2.txt", "geometry.txt"},
        ),
        ({"type": "gt", "key": "year", "value": 2021}, {"returns.md", "warranty.md"}),
        ({"type": "lte", "key": "year", "value": 2019}, {"privacy.md", "gpt2.txt"}),
        ({"type": "eq", "key": "public", "value": False}, {"warranty.md"}),
        (
            {"type": "in", "key": "category", "value": ["science", "legal"]},
            {"privacy.md", "gpt2.txt", "geometry.txt"},
        ),
        (
            {"type": "nin", "key": "category", "value": ["science", "legal", "policy"]},
            {"warranty.md"},
        ),
        (
            {
                "type": "and",
                "filters": [
                    {"type": "eq", "key": "category", "value": "policy"},
                    {"type": "gte", "key": "year", "value": 2023},
                ],
            },
            {"returns.md"},
        ),
        (
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "category", "value": "product"},
                    {
                        "type": "and",
                        "filters": [
                            {"type": "eq", "key": "category", "value": "science"},
                            {"type": "lt", "key": "year", "value": 2020},
                        ],
                    },
                ],
            },
            {"warranty.md", "gpt2.txt"},
        ),
        # privacy.md has no `public` attribute: it matches `ne` but never `eq`.
        (
            {"type": "ne", "key": "public", "value": True},
            {"warranty.md", "privacy.md"},
        ),
    ],
)
def test_attribute_filters(corpus, filters: dict, expected: set[str]) -> None:
    # A query every document matches, so the filter alone decides.
    query = "the"
    page = corpus["client"].vector_stores.search(
        corpus["en"], query=query, filters=filters, max_num_results=50
    )
    assert set(_names(page)) == expected
    for r in page.data:
        assert r.attributes == ENGLISH[r.filename][1]


def test_bad_filters_and_search_errors(corpus) -> None:
    client = corpus["client"]
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.search(
            corpus["en"], query="x", filters={"type": "in", "key": "year", "value": 2020}
        )
    assert err.value.body["param"] == "filters.value"
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.search(corpus["en"], query="x", max_num_results=51)
    assert err.value.body["param"] == "max_num_results"
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.search(
            corpus["en"], query="x", ranking_options={"score_threshold": 1.5}
        )
    assert err.value.body["param"] == "ranking_options.score_threshold"
    with pytest.raises(openai.NotFoundError) as err:
        client.vector_stores.search("vs_missing", query="x")
    assert err.value.body["message"] == "No vector store found with id 'vs_missing'."


def test_search_marks_the_store_active(corpus) -> None:
    client = corpus["client"]
    vs = client.vector_stores.create(
        name="activity", expires_after={"anchor": "last_active_at", "days": 1}
    )
    client.vector_stores.search(vs.id, query="anything")
    after = client.vector_stores.retrieve(vs.id)
    assert after.last_active_at >= vs.last_active_at
    assert after.expires_at == after.last_active_at + 86400


def test_pdf_text_is_extracted_per_page(client: openai.OpenAI) -> None:
    pdf = _pdf(
        [
            "Language Models are Unsupervised Multitask Learners\nAlec Radford, OpenAI",
            "Section 2 Approach\nThe core is language modeling with probabilistic factorisation.",
        ]
    )
    vs = client.vector_stores.create(name="paper")
    stream = ("language_models_are_unsupervised_multitask_learners.pdf", pdf)
    batch = client.vector_stores.file_batches.upload_and_poll(vector_store_id=vs.id, files=[stream])
    assert batch.status == "completed" and batch.file_counts.completed == 1
    file_id = client.vector_stores.files.list(vs.id).data[0].id
    pages = [c.text for c in client.vector_stores.files.content(file_id, vector_store_id=vs.id)]
    assert len(pages) == 2
    assert "Unsupervised Multitask Learners" in pages[0]
    assert "probabilistic" in pages[1]
    hit = client.vector_stores.search(vs.id, query="probabilistic factorisation").data[0]
    assert hit.filename.endswith(".pdf") and "probabilistic" in hit.content[0].text


@pytest.mark.parametrize(
    ("name", "data", "present", "absent"),
    [
        (
            "page.html",
            b"<html><head><title>Guide</title><style>p{color:red}</style>"
            b"<script>var secret = 1;</script></head><body><h1>Setup</h1>"
            b"<p>Install the package &amp; run it.</p></body></html>",
            ["Guide", "Setup", "Install the package & run it."],
            ["color:red", "secret", "<p>"],
        ),
        (
            "data.json",
            b'{"title": "\\uc0ac\\uacfc", "price": 3}',
            ['"title": "사과"', '"price": 3'],
            ["\\uc0ac"],
        ),
        ("table.csv", b"name,score\nkim,90\nlee,85\n", ["name,score", "kim,90"], []),
        ("euc.txt", "한국어 텍스트".encode("cp949"), ["한국어 텍스트"], []),
    ],
)
def test_text_extraction_by_type(
    client: openai.OpenAI, name: str, data: bytes, present: list[str], absent: list[str]
) -> None:
    vs = client.vector_stores.create(name=f"extract {name}")
    file_id = client.files.create(file=(name, data), purpose="assistants").id
    done = client.vector_stores.files.create_and_poll(file_id=file_id, vector_store_id=vs.id)
    assert done.status == "completed", done.last_error
    text = "".join(
        c.text for c in client.vector_stores.files.content(file_id, vector_store_id=vs.id)
    )
    for p in present:
        assert p in text
    for a in absent:
        assert a not in text


def test_invalid_json_fails_with_the_position(client: openai.OpenAI) -> None:
    vs = client.vector_stores.create(name="bad json")
    file_id = client.files.create(file=("bad.json", b'{"a": 1,,}'), purpose="assistants").id
    done = client.vector_stores.files.create_and_poll(file_id=file_id, vector_store_id=vs.id)
    assert done.status == "failed"
    assert done.last_error.code == "invalid_file"
    assert "bad.json" in done.last_error.message and "line 1" in done.last_error.message


def test_small_chunks_split_long_documents(client: openai.OpenAI) -> None:
    sections = [f"Section {i}: " + f"topic{i} " * 150 for i in range(6)]
    vs = client.vector_stores.create(name="chunks")
    file_id = client.files.create(
        file=("long.txt", "\n\n".join(sections).encode()), purpose="assistants"
    ).id
    client.vector_stores.files.create_and_poll(
        file_id=file_id,
        vector_store_id=vs.id,
        chunking_strategy={
            "type": "static",
            "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 0},
        },
    )
    hits = client.vector_stores.search(vs.id, query="topic4", max_num_results=50).data
    # Each section is ~300 approximate tokens, so no 200-token chunk holds all of it...
    assert all(len(h.content[0].text) < len(sections[4]) for h in hits)
    # ...and the best chunk is the one inside section 4.
    assert "topic4" in hits[0].content[0].text
    assert "topic1" not in hits[0].content[0].text
