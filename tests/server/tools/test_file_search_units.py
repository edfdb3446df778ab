"""The file-search library parts: chunking, index terms, citations, and search() across
several vector stores on a real (in-memory) store with the real indexing worker."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from orchestrator.server.config import ServerConfig
from orchestrator.server.context import ServerContext
from orchestrator.server.errors import APIError
from orchestrator.server.services import vector_stores as vsf
from orchestrator.server.services.files import store_file
from orchestrator.server.services.vector_stores import search
from orchestrator.server.tools import file_search
from orchestrator.server.tools.chunking import ChunkingStrategy, chunk_text, count_tokens
from orchestrator.server.tools.citations import (
    NO_RESULTS,
    annotate,
    citation_sources,
    format_results,
    parse_results,
)
from orchestrator.server.tools.file_search import FALLBACK_SCALE, SearchHit
from orchestrator.server.tools.search_terms import index_terms, query_terms

# -- chunking ---------------------------------------------------------------------------------


def test_token_approximation() -> None:
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    assert count_tokens("internationalization") == 4  # 20 characters / 5
    assert count_tokens("사과를 먹었다.") == 7  # one per syllable, one for the period
    assert count_tokens("a, b") == 3


def test_static_chunks_respect_size_and_overlap() -> None:
    words = [f"w{i:04d}" for i in range(2000)]  # 5 characters: one token each
    text = " ".join(words)
    chunks = chunk_text(text)  # 800 / 400
    assert all(c.tokens <= 800 for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    assert [c.tokens for c in chunks] == [800, 800, 800, 800]  # windows at 0, 400, 800, 1200
    # Each chunk starts 400 tokens after the previous one: 400 words of overlap.
    first, second = chunks[0].text.split(), chunks[1].text.split()
    assert first[400:] == second[:400]
    small = chunk_text(text, ChunkingStrategy(100, 0))
    assert len(small) == 20 and " ".join(c.text for c in small) == text


def test_chunks_keep_the_original_text_between_units() -> None:
    text = "Line one.\n\n  Line two has 사과를 in it."
    (chunk,) = chunk_text(text)
    assert chunk.text == text


def test_chunking_strategy_parameters_are_checked() -> None:
    assert ChunkingStrategy.from_request({"type": "auto"}) == ChunkingStrategy(800, 400)
    assert ChunkingStrategy.from_request(None) == ChunkingStrategy(800, 400)
    s = ChunkingStrategy.from_request(
        {"type": "static", "static": {"max_chunk_size_tokens": 300, "chunk_overlap_tokens": 150}}
    )
    assert s.wire()["static"] == {"max_chunk_size_tokens": 300, "chunk_overlap_tokens": 150}
    with pytest.raises(APIError) as err:
        ChunkingStrategy.from_request(
            {
                "type": "static",
                "static": {"max_chunk_size_tokens": 300, "chunk_overlap_tokens": 151},
            }
        )
    assert err.value.param == "chunking_strategy.static.chunk_overlap_tokens"
    assert "half" in err.value.message


# -- index terms ------------------------------------------------------------------------------


def test_korean_text_is_indexed_as_bigrams_so_particles_do_not_matter() -> None:
    terms, length = index_terms("나는 사과를 좋아한다")
    terms = terms.split()
    assert length == 9  # characters, each counted once
    assert "사과" in terms and "과를" in terms and "사" in terms
    assert query_terms("사과") == ["사과"]
    assert query_terms("사과를 먹다") == ["사과", "과를", "먹다"]
    assert query_terms("물") == ["물"]


def test_english_terms_fold_case_and_plurals_and_drop_query_stopwords() -> None:
    assert index_terms("The Policies of RETURNS") == ("the policy of return", 4)
    assert query_terms("What is the return policy?") == ["return", "policy"]
    assert query_terms("the") == ["the"]  # only stopwords: keep them
    assert query_terms("API를 호출") == ["api", "를", "호출"]


# -- citations --------------------------------------------------------------------------------


def _hit(file_id: str, filename: str, score: float, text: str) -> SearchHit:
    return SearchHit(file_id, filename, score, text, {}, "vs_x")


def test_format_and_parse_results_round_trip() -> None:
    hits = [
        _hit("file-1", "guide.md", 0.9349, "First passage.\n\nWith a blank line."),
        _hit("file-2", "논문.pdf", 0.5, "두 번째 구절"),
    ]
    out = format_results(2, hits)
    assert out == (
        "【2:0†guide.md】 (score 0.93)\nFirst passage.\n\nWith a blank line.\n"
        "\n"
        "【2:1†논문.pdf】 (score 0.50)\n두 번째 구절\n"
    )
    parsed = parse_results(out)
    assert [(p.marker, p.call_index, p.n, p.filename, p.text) for p in parsed] == [
        ("【2:0†guide.md】", 2, 0, "guide.md", "First passage.\n\nWith a blank line."),
        ("【2:1†논문.pdf】", 2, 1, "논문.pdf", "두 번째 구절"),
    ]
    assert format_results(0, []) == NO_RESULTS
    assert parse_results(NO_RESULTS) == []


def test_annotate_points_at_each_marker() -> None:
    hits = [_hit("file-1", "guide.md", 0.9, "a"), _hit("file-2", "faq.md", 0.8, "b")]
    sources = citation_sources(0, hits)
    text = "Use X【0:0†guide.md】. Also Y【0:1†faq.md】 and again【0:0†guide.md】; not【3:3†other.md】."
    notes = annotate(text, sources)
    assert [n["file_citation"]["file_id"] for n in notes] == ["file-1", "file-2", "file-1"]
    for n in notes:
        assert n["type"] == "file_citation"
        assert text[n["start_index"] : n["end_index"]] == n["text"]
    assert annotate("no markers here", sources) == []
    assert annotate(text, {}) == []


# -- search() across vector stores --------------------------------------------------------


@pytest.fixture
def c() -> Iterator[ServerContext]:
    """A server's parts (in-memory store, the real indexing worker) without HTTP."""
    c = ServerContext.build(ServerConfig())
    c.indexer.start()
    yield c
    c.indexer.stop()
    c.store.close()


def _store_with(c: ServerContext, docs: dict[str, str], **body) -> tuple[str, dict[str, str]]:
    store = c.store
    ids = {
        name: store_file(store, name, text.encode(), "assistants")["id"]
        for name, text in docs.items()
    }
    vs = vsf.create_vector_store(c, {"file_ids": list(ids.values()), **body})
    deadline = time.monotonic() + 10
    while (
        vsf.view_vector_store(store, store.require("vector_store", vs["id"]))["status"]
        != "completed"
    ):
        assert time.monotonic() < deadline, "indexing did not finish"
        time.sleep(0.01)
    return vs["id"], ids


def test_search_merges_several_vector_stores(c: ServerContext) -> None:
    store = c.store
    a, _ = _store_with(
        c,
        {
            "cats.txt": "Cats purr and sleep most of the day.",
            "dogs.txt": "Dogs bark at the mail carrier.",
        },
    )
    b, b_ids = _store_with(
        c,
        {
            "cats-ko.txt": "고양이는 하루 대부분을 잔다. cats purr loudly, cats purr often, cats purr."
        },
    )
    hits = search(store, [a, b, "vs_unknown"], "cats purr")
    assert [h.filename for h in hits] == ["cats-ko.txt", "cats.txt"]
    assert {h.vector_store_id for h in hits} == {a, b}
    assert hits[0].file_id == b_ids["cats-ko.txt"]
    assert hits[0].score >= hits[1].score and all(0 < h.score <= 1 for h in hits)
    assert len(search(store, [a, b], "cats purr", max_num_results=1)) == 1
    assert search(store, [a, b], "cats purr", score_threshold=1.0) == []
    # No chunk of [a] holds 고양이: the n-gram fallback still answers, with scores that
    # say nothing matched (0.0, not a character pair in common), in index order.
    fallback = search(store, [a], "고양이")
    assert [(h.filename, h.score) for h in fallback] == [("cats.txt", 0.0), ("dogs.txt", 0.0)]
    assert search(store, [a], "고양이", score_threshold=0.01) == []
    assert search(store, [b], "고양이")[0].filename == "cats-ko.txt"
    assert search(store, [], "cats") == []
    # Results feed the citations format directly.
    out = format_results(0, hits)
    assert [p.filename for p in parse_results(out)] == ["cats-ko.txt", "cats.txt"]


def test_search_skips_expired_stores_and_marks_used_ones_active(c: ServerContext) -> None:
    store = c.store
    vs, _ = _store_with(
        c,
        {"a.txt": "quarterly revenue grew"},
        expires_after={"anchor": "last_active_at", "days": 1},
    )
    store.mutate("vector_store", vs, lambda o: o.update(last_active_at=0, expires_at=10**10))
    assert search(store, [vs], "revenue")[0].filename == "a.txt"
    touched = store.require("vector_store", vs)
    assert touched["last_active_at"] > 0
    assert touched["expires_at"] == touched["last_active_at"] + 86400
    store.mutate("vector_store", vs, lambda o: o.update(expires_at=1))
    assert search(store, [vs], "revenue") == []


def test_wait_until_indexed_sees_fresh_attachments(c: ServerContext) -> None:
    store = c.store
    vs, _ = _store_with(c, {"a.txt": "alpha"})
    big = store_file(store, "big.txt", ("word " * 200000 + "omega").encode(), "assistants")
    vsf.attach_file(c, vs, {"file_id": big["id"]})
    assert vsf.pending_files(store, [vs]) == 1
    assert vsf.wait_until_indexed(store, [vs], timeout=30)
    assert vsf.pending_files(store, [vs]) == 0
    assert search(store, [vs], "omega")[0].file_id == big["id"]


def test_misspelt_queries_fall_back_to_character_ngrams(c: ServerContext) -> None:
    store = c.store
    vs, _ = _store_with(
        c,
        {
            "cats.txt": "Cats purr and sleep most of the day.",
            "dogs.txt": "Dogs bark at the mail carrier.",
            "refunds.txt": "Refunds are paid within 30 days of the return.",
        },
    )
    # No word of the query is indexed, yet the chunks sharing its letters come first.
    hits = search(store, [vs], "kats purrr")
    assert hits[0].filename == "cats.txt"
    assert 0 < hits[0].score <= FALLBACK_SCALE and hits[0].score > hits[1].score
    assert search(store, [vs], "refundz")[0].filename == "refunds.txt"
    # max_num_results and score_threshold hold for the fallback too.
    assert len(search(store, [vs], "kats purrr", max_num_results=1)) == 1
    assert search(store, [vs], "kats purrr", score_threshold=FALLBACK_SCALE + 0.01) == []
    # A query with an indexed word never falls back: only BM25's matches come back.
    assert [h.filename for h in search(store, [vs], "bark")] == ["dogs.txt"]


def test_the_fallback_reads_a_bounded_number_of_chunks(c: ServerContext, monkeypatch) -> None:
    store = c.store
    vs, _ = _store_with(c, {f"f{i}.txt": f"alpha beta {i}" for i in range(6)})
    monkeypatch.setattr(file_search, "FALLBACK_SCAN", 3)
    hits = search(store, [vs], "zzz qqq", max_num_results=20)
    assert len(hits) == 3
