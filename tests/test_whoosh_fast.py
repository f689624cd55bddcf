"""The Whoosh fast paths against their references (plain Whoosh), their switches and fallbacks.

The reference is the spec: Whoosh 2.7.4's own ``SegmentWriter``/``W3Codec`` for the segment
writer, Whoosh's collectors for the vector scorer (hit-for-hit tests are in test_vector.py).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.writing import SegmentWriter

import newssearch._whoosh_fast as fast
from newssearch import Config, IndexingConfig, NewsSearch, SearchConfig
from newssearch._whoosh_fast import segments, vector
from newssearch.config import AnalysisConfig
from newssearch.index.schema import build_schema, content_hash, to_document
from newssearch.index.writer import new_writer
from newssearch.ingest.readers import article_from_mapping

from .conftest import NEWS, write_jsonl

REPO = Path(__file__).resolve().parents[1]


def _config(tmp_path: Path, fast_on: bool) -> Config:
    return Config(
        index=tmp_path / "index",
        indexing=IndexingConfig(workers=1, fast_writer=fast_on),
        search=SearchConfig(fast=fast_on),
    )


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    monkeypatch.setattr(fast, "_warned", set())


def _gnad_articles(shared: Path, n: int) -> list:
    out = []
    with open(shared / "corpus" / "gnad.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i == n:
                break
            record = json.loads(line)
            out.append(article_from_mapping(record, record["id"], "gnad.jsonl", i + 1))
    return out


def _index_files(ix) -> dict[str, bytes]:
    """Every segment's files, keyed without the random segment id, in segment order."""
    named = {}
    for k, segment in enumerate(ix._segments()):
        files = segment.open_compound_file(ix.storage)
        for name in files._dir:
            named[f"{k}{name[len(segment.segment_id()) :]}"] = files.open_file(name).read()
    return named


def _build(folder: Path, articles: list, make_writer, batches: int = 1, optimize: bool = False):
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), build_schema(AnalysisConfig()))
    size = -(-len(articles) // batches)
    for start in range(0, len(articles), size):
        writer = make_writer(ix)
        for i, article in enumerate(articles[start : start + size], start):
            entities = [("PER", "Angela Merkel"), ("LOC", "Wien")][: i % 3]
            writer.add_document(
                **to_document(article, content_hash(article), "Inland", entities=entities)
            )
        writer.commit(merge=False)
    if optimize:
        make_writer(ix).commit(optimize=True)
    return _index_files(ix)


@pytest.mark.slow
@pytest.mark.parametrize("optimize", [False, True], ids=["one segment", "merged segments"])
def test_fast_writer_writes_whooshs_bytes_on_real_text(
    tmp_path, shared_data, monkeypatch, optimize
):
    """Real news text with compression on: the segment files equal Whoosh's writer's.

    Whoosh means to leave small blocks raw but compresses them all; with that one rule
    switched to Whoosh's behaviour, every file is the same byte for byte, also after an
    ``optimize`` that merges three segments.
    """
    monkeypatch.setattr(segments, "RAW_BLOCK_BYTES", 0)  # compress every block, as Whoosh does
    articles = _gnad_articles(shared_data, 600)
    batches = 3 if optimize else 1
    ours = _build(tmp_path / "ours", articles, segments.Writer, batches, optimize)
    whooshs = _build(
        tmp_path / "whoosh", articles, lambda ix: ix.writer(codec=W3Codec()), batches, optimize
    )
    assert sorted(ours) == sorted(whooshs)
    assert sum(len(v) for v in ours.values()) > 500_000  # real postings, not a toy segment
    assert ours == whooshs


def test_switches_choose_whooshs_own_writer(tmp_path):
    """``indexing.fast_writer: false`` writes with Whoosh's SegmentWriter."""
    ix = whoosh_index.create_in(str(tmp_path), build_schema(AnalysisConfig()))
    for on, kind in ((True, segments.Writer), (False, SegmentWriter)):
        writer = new_writer(ix, _config(tmp_path, on))
        assert type(writer) is kind
        writer.cancel()


def _answers(ns: NewsSearch) -> list:
    out = []
    for text in ("Asylpaket", "Rapid Mattersburg", '"neue Straßenbahnen"', "Wahl*", "*"):
        result = ns.search(text, facets=["topic", "source", "date"])
        out.append(([(h.id, round(h.score or 0, 6)) for h in result.hits], dict(result.facets)))
    return out


def test_fast_and_plain_paths_answer_alike(tmp_path):
    """Both switches off: the same index answers every query with the same hits and facets."""
    corpus = write_jsonl(tmp_path / "news.jsonl", NEWS)
    results = []
    for on in (True, False):
        config = _config(tmp_path / str(on), on)
        with NewsSearch(config.index, config) as ns:
            ns.index([corpus])
            results.append(_answers(ns))
    assert results[0] == results[1]


def test_a_failing_vector_path_falls_back_to_whoosh(tmp_path, monkeypatch, caplog):
    """An unexpected error in the vector scorer: the search still answers, warned once."""
    corpus = write_jsonl(tmp_path / "news.jsonl", NEWS)
    config = _config(tmp_path, True)
    with NewsSearch(config.index, config) as ns:
        ns.index([corpus])
        expected = _answers(ns)

        def broken(*args, **kwargs):
            raise AttributeError("'W3LeafMatcher' object has no attribute '_data'")

        monkeypatch.setattr(vector, "_leaf", broken)
        with caplog.at_level(logging.WARNING, logger="newssearch"):
            assert _answers(ns) == expected
            assert _answers(ns) == expected
    warnings = [r for r in caplog.records if "fast search failed" in r.getMessage()]
    assert len(warnings) == 1


def test_a_failing_fast_writer_falls_back_to_whoosh(tmp_path, monkeypatch, caplog):
    """An unexpected error in the fused postings loop: the run is redone with Whoosh's writer."""
    corpus = write_jsonl(tmp_path / "news.jsonl", NEWS)

    def broken(*args, **kwargs):
        raise KeyError("_fieldid")

    monkeypatch.setattr(segments, "_term_blocks", broken)
    config = _config(tmp_path, True)
    with (
        caplog.at_level(logging.WARNING, logger="newssearch"),
        NewsSearch(config.index, config) as ns,
    ):
        report = ns.index([corpus])
        assert report.documents == len(NEWS)
        assert ns.check().ok
        assert {h.id for h in ns.search("Asylpaket OR Rapid").hits} == {"a1", "a2"}
        assert ns.optimize().documents == len(NEWS)  # the merge falls back too
    assert any("fast segment writer failed" in r.getMessage() for r in caplog.records)


def test_a_fast_writer_that_cannot_start_falls_back(tmp_path, monkeypatch, caplog):
    """Whoosh's writer internals not as expected when the writer is made: Whoosh's own is used."""

    def broken(self, *args, **kwargs):
        raise AttributeError("'SegmentWriter' object has no attribute '_tempstorage'")

    monkeypatch.setattr(segments.Writer, "__init__", broken)
    config = _config(tmp_path, True)
    with (
        caplog.at_level(logging.WARNING, logger="newssearch"),
        NewsSearch(config.index, config) as ns,
    ):
        ns.index([write_jsonl(tmp_path / "news.jsonl", NEWS)])
        assert ns.count() == len(NEWS)
    assert any("fast segment writer failed" in r.getMessage() for r in caplog.records)


def test_another_whoosh_version_fails_at_import_with_a_clear_message(tmp_path):
    """``import newssearch`` beside a different Whoosh release names the release it needs."""
    fake = tmp_path / "whoosh"
    fake.mkdir()
    (fake / "__init__.py").write_text("__version__ = (2, 8, 0)\n")
    run = subprocess.run(
        [sys.executable, "-c", "import newssearch"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{tmp_path}:{REPO / 'src'}", "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert run.returncode != 0
    assert "needs Whoosh 2.7.4 exactly" in run.stderr and "2.8.0 is installed" in run.stderr


def test_fast_switches_default_from_the_environment(monkeypatch):
    """NEWSSEARCH_FAST=0 turns both switches off by default (how CI runs the suite plainly)."""
    monkeypatch.setenv("NEWSSEARCH_FAST", "0")
    assert not SearchConfig().fast and not IndexingConfig().fast_writer
    monkeypatch.setenv("NEWSSEARCH_FAST", "1")
    assert SearchConfig().fast and IndexingConfig().fast_writer
    assert dataclasses.replace(SearchConfig(), fast=False).fast is False
