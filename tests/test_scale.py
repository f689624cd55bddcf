"""Issue 6: enrichment in worker processes, columnar facets over many segments, progress."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from whoosh.writing import SegmentWriter

from newssearch import (
    Config,
    ConfigError,
    CorpusError,
    IndexingConfig,
    NewsSearch,
    load_config,
)
from newssearch._whoosh_fast import segments
from newssearch.index import pool
from newssearch.text.names import name_key as key

from .conftest import NEWS, write_jsonl


def records(n: int, prefix: str = "r") -> list[dict]:
    """``n`` German news records: the test news with fresh ids, dates and sources."""
    out = []
    for i in range(n):
        r = dict(NEWS[i % len(NEWS)])
        r["id"] = f"{prefix}{i}"
        r["date"] = f"201{i % 3 + 4}-0{i % 9 + 1}-1{i % 10}"
        r["source"] = ("Der Standard", "Kurier", "SZ")[i % 3]
        r["text"] += f" Ausgabe {i}."
        out.append(r)
    return out


def config_for(tmp_path: Path, name: str, **indexing) -> Config:
    return Config(index=tmp_path / name, indexing=IndexingConfig(**indexing))


def stored(ns: NewsSearch) -> dict[str, tuple]:
    hits = ns.search("*", limit=10_000).hits
    return {
        h.id: (h.topics, tuple(sorted((f, tuple(v)) for f, v in h.entities.items()))) for h in hits
    }


@pytest.fixture
def small_pool(monkeypatch):
    """Start the worker pool for small runs too, with small chunks (several in flight), and the commit helper."""
    monkeypatch.setattr(pool, "POOL_MIN", 8)
    monkeypatch.setattr(pool, "CHUNK", 3)
    monkeypatch.setattr(segments, "HELPER_MIN", 1)  # and the last commit's helper process


def text_postings(index_dir: Path) -> dict[tuple[str, bytes], list]:
    """Every title and body posting, by article id: (id, frequency, weight, encoded positions)."""
    from whoosh import index as whoosh_index

    from newssearch.index.writer import read_meta

    ix = whoosh_index.open_dir(str(index_dir), indexname=read_meta(index_dir)["indexname"])
    out = {}
    with ix.reader() as reader:
        ids = {n: reader.stored_fields(n)["id"] for n in reader.all_doc_ids()}
        for field in ("title", "body"):
            for term in reader.lexicon(field):
                m = reader.postings(field, term)
                items = []
                while m.is_active():
                    items.append((ids[m.id()], m.value(), m.weight()))
                    m.next()
                out[field, term] = sorted(items)
    ix.close()
    return out


@pytest.mark.parametrize(
    ("ahead_chars", "workers"),
    [
        (pool.AHEAD_CHARS, 2),
        (1, 2),  # one chunk in flight at a time
        (pool.AHEAD_CHARS, 3),  # two word workers, one name worker
    ],
)
def test_workers_index_exactly_what_one_process_does(
    tmp_path, small_pool, monkeypatch, ahead_chars, workers
):
    monkeypatch.setattr(pool, "AHEAD_CHARS", ahead_chars)
    mixed = records(40)
    for r in mixed[::4]:
        r["title"] = r["text"]  # a headline-only record: the body repeats the title
    for r in mixed[1::4]:
        r.pop("title", None)
    corpus = write_jsonl(tmp_path / "c.jsonl", mixed)
    with NewsSearch(config=config_for(tmp_path, "one", workers=1)) as one:
        serial = one.index([corpus])
        expected = stored(one)
    with NewsSearch(config=config_for(tmp_path, "two", workers=workers, batch_size=7)) as two:
        parallel = two.index([corpus])
        got = stored(two)
    assert serial.workers == 0 and parallel.workers == workers
    assert f"enriched by {workers} worker processes" in parallel.summary()
    assert parallel.added == serial.added == 40 and len(got) == 40
    assert got == expected
    # the title and body terms the workers made are the ones the indexing process makes
    terms = text_postings(tmp_path / "one")
    assert terms == text_postings(tmp_path / "two")
    assert any(field == "title" for field, _ in terms) and any(
        field == "body" for field, _ in terms
    )
    with NewsSearch(config=config_for(tmp_path, "two")) as two:
        # every body ends "Ausgabe <i>."; only the headline-only records have it in the title too
        assert two.search("Ausgabe").total == 40 and two.search("title:Ausgabe").total == 10
    assert any(entities for _, entities in got.values() if any(v for _, v in entities))


def test_rest_of_a_read_input_joins_the_last_batch(tmp_path, small_pool, monkeypatch):
    """A checkpoint comes every batch, unless the input is read and what is left is under a batch."""
    monkeypatch.setattr(
        pool, "AHEAD", 1
    )  # few chunks in flight: the input is not read to its end at once
    commits = []
    commit = SegmentWriter.commit  # the fast writer's commit ends in Whoosh's: counts both paths
    monkeypatch.setattr(
        SegmentWriter,
        "commit",
        lambda self, *a, **k: (commits.append(self.doc_count()), commit(self, *a, **k))[1],
    )
    corpus = write_jsonl(tmp_path / "c.jsonl", records(35))
    with NewsSearch(config=config_for(tmp_path, "ix", workers=2, batch_size=10)) as ns:
        report = ns.index([corpus])
        assert report.added == 35 and ns.search("*", limit=100).total == 35
    # 10 and 10 while records are still being read; then 15 are left to write: one last commit
    assert commits == [10, 10, 15]


def test_last_batch_rule():
    from types import SimpleNamespace

    from newssearch.index.writer import joins_last_batch

    settings = IndexingConfig(batch_size=100, workers=2)
    writer = SimpleNamespace(
        pool=SimpleNamespace(currentsize=40, limit=100)
    )  # the pending records' postings

    def joins(exhausted, read, written=100, pending=100):
        return joins_last_batch(
            SimpleNamespace(exhausted=exhausted, read=read), writer, pending, written, settings
        )

    assert joins(True, 150)  # 50 left; 150 records' postings take 60 % of the writer's memory
    assert not joins(False, 150)  # more may come
    assert not joins(True, 200)  # a whole batch left
    assert not joins(True, 199, pending=40)  # 99 left: 139 records at 1 % each would not fit
    settings = IndexingConfig(batch_size=100, workers=1)
    assert not joins(True, 150)  # no workers: nothing to gain


def test_workers_are_split_by_kind_of_work():
    from newssearch.config import AnalysisConfig, EnrichConfig

    def pools(config: EnrichConfig, workers: int) -> list[int]:
        enricher = pool.Enricher(config, workers, AnalysisConfig())
        enricher._start()
        try:
            return [p._max_workers for p in enricher._pools]
        finally:
            enricher.close()

    assert pools(EnrichConfig(), 2) == [1, 1]  # a word worker and a name worker
    assert pools(EnrichConfig(), 3) == [2, 1]
    assert pools(EnrichConfig(entities=False), 2) == [2]  # one kind of work: one pool
    texts = [(None, "Angela Merkel besucht München."), ("Titel", "Titel")]
    words, names = (
        pool.prepare_words(texts, EnrichConfig(), AnalysisConfig()),
        pool.prepare_names(texts, EnrichConfig()),
    )

    def plain(prepared: pool.Prepared) -> tuple:
        return prepared.section, prepared.entities, [t and t.items for t in prepared.terms]

    assert [plain(p) for p in pool.prepare(texts, EnrichConfig(), AnalysisConfig())] == [
        plain(pool.Prepared(section, found, terms))
        for (section, terms), found in zip(words, names, strict=False)
    ]
    assert ("PER", "Angela Merkel") in names[0]


def test_strict_stop_with_workers_keeps_every_record_before_it(tmp_path, small_pool):
    good = records(20)
    corpus = write_jsonl(tmp_path / "c.jsonl", [*good, "{not json", *records(5, "late")])
    with NewsSearch(config=config_for(tmp_path, "ix", workers=2)) as ns:
        with pytest.raises(CorpusError, match="records before it: 20"):
            ns.index([corpus], strict=True)
        assert ns.count() == 20


def test_workers_setting_is_checked(tmp_path):
    (tmp_path / "c.yaml").write_text("indexing:\n  workers: 0\n")
    with pytest.raises(ConfigError, match=r"indexing\.workers"):
        load_config(tmp_path / "c.yaml")
    (tmp_path / "c.yaml").write_text("indexing:\n  workers: 3\n")
    assert load_config(tmp_path / "c.yaml").indexing.workers == 3
    assert 1 <= Config().indexing.workers <= 4


def test_small_runs_do_not_start_workers(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", records(10))
    with NewsSearch(config=config_for(tmp_path, "ix", workers=2)) as ns:
        assert ns.index([corpus]).workers == 0


def brute_force(ns: NewsSearch, text: str) -> dict[str, Counter]:
    """Facet counts the obvious way: the stored fields of every match."""
    hits = ns.search(text, limit=10_000).hits
    counts = {
        "topic": Counter(),
        "source": Counter(),
        "date": Counter(),
        "person": Counter(),
        "place": Counter(),
    }
    for h in hits:
        counts["topic"].update(set(h.topics))
        counts["source"][h.source] += 1
        if h.date:
            counts["date"][f"{h.date:%Y-%m}"] += 1
        for facet in ("person", "place"):
            counts[facet].update({key(n) for n in h.entities[facet]})
    return counts


def assert_facets_exact(ns: NewsSearch, text: str) -> None:
    result = ns.search(text, facets=("topic", "source", "date", "person", "place"), limit=1)
    truth = brute_force(ns, text)
    assert result.total == sum(truth["source"].values())
    assert dict(result.facets["topic"]) == dict(truth["topic"])
    assert dict(result.facets["source"]) == dict(truth["source"])
    assert {m: n for m, n in result.facets["date"] if n} == dict(truth["date"])
    for facet in ("person", "place"):
        assert {key(name): n for name, n in result.facets[facet]} == dict(truth[facet])


def test_facets_over_many_segments_updates_and_deletions(tmp_path):
    corpus = tmp_path / "corpus"
    first = write_jsonl(corpus / "a.jsonl", records(30))
    config = Config(
        index=tmp_path / "ix",
        topics={"Wahl": "Wahl"},
        indexing=IndexingConfig(batch_size=4, workers=1),
    )
    with NewsSearch(config=config) as ns:
        ns.index([corpus])
        for text in ("*", "Mattersburg OR Wahl OR München", "Asylpaket"):
            assert_facets_exact(ns, text)
        # facets were parsed for these segments; now add, change and delete articles
        changed = records(30)
        changed[3]["text"] = "Angela Merkel besuchte Paris."
        changed[4]["source"] = "Profil"
        write_jsonl(first, changed[:25])  # r25..r29 are gone
        write_jsonl(corpus / "b.jsonl", records(9, "n"))
        report = ns.index([corpus], prune=True)
        assert report.updated == 2 and report.added == 9 and len(report.pruned) == 5
        assert ns.count() == 34
        for text in ("*", "Mattersburg OR Wahl OR München OR Paris", "Merkel"):
            assert_facets_exact(ns, text)
        assert dict(ns.search("*", facets=("source",)).facets["source"])["Profil"] == 1
        ns.optimize()
        assert_facets_exact(ns, "*")


def test_undated_articles_are_left_out_of_the_date_facet(tmp_path):
    recs = records(6)
    del recs[0]["date"], recs[1]["date"]
    with NewsSearch(config=config_for(tmp_path, "ix")) as ns:
        ns.index([write_jsonl(tmp_path / "c.jsonl", recs)])
        dates = ns.search("*", facets=("date",), interval="day").facets["date"]
        assert sum(n for _, n in dates) == 4
        assert [d for d, _ in dates] == sorted(
            dt.date.fromisoformat(r["date"][:10]).isoformat() for r in recs[2:]
        )


def test_progress_reports_rate(tmp_path):
    seen = []
    with NewsSearch(config=config_for(tmp_path, "ix")) as ns:
        ns.index([write_jsonl(tmp_path / "c.jsonl", records(12))], progress=seen.append)
    last = seen[-1]
    assert last.records == 12 and last.bytes_done == last.bytes_total and last.seconds > 0
    assert last.rate == pytest.approx(12 / last.seconds)


def _children(pid: int) -> set[int]:
    try:
        return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(
    not Path("/proc/self/task").exists(), reason="needs Linux /proc to find worker processes"
)
def test_workers_exit_when_the_indexing_process_is_killed(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", records(3000))
    (tmp_path / "c.yaml").write_text(f"index: {tmp_path / 'ix'}\nindexing:\n  workers: 2\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "newssearch",
            "index",
            "--config",
            str(tmp_path / "c.yaml"),
            "--quiet",
            str(corpus),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
        workers = _children(proc.pid)
        time.sleep(0.05)
    assert len(workers) >= 2, "the index run did not start its workers"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), (
        "worker processes outlived the killed indexing process"
    )
    # and the next run finishes the job
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "newssearch",
            "index",
            "--config",
            str(tmp_path / "c.yaml"),
            "--json",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["documents"] == 3000


def test_top_values_and_gather_match_plain_python():
    import numpy as np

    from newssearch.query.facets import FacetTable, top_values

    rng = np.random.default_rng(3)
    values = [f"v{i:03d}" for i in range(300)]
    counts = rng.integers(0, 6, size=300)  # many ties, many zeros
    expected = sorted(
        ((v, int(n)) for v, n in zip(values, counts, strict=False) if n),
        key=lambda vn: (-vn[1], vn[0]),
    )[:10]
    assert list(top_values(values, counts, 10)) == expected
    per_doc = [list(rng.choice(300, size=rng.integers(0, 5), replace=False)) for _ in range(50)]
    indptr = np.cumsum([0] + [len(v) for v in per_doc])
    table = FacetTable(indptr, np.asarray([i for v in per_doc for i in v], dtype=np.int64), values)
    docs = np.asarray([1, 4, 5, 17, 49])
    assert table.gather(docs).tolist() == [i for d in docs for i in per_doc[d]]
    assert table.count(np.zeros(0, dtype=np.int64)).sum() == 0


def test_writer_codec_writes_what_whooshs_default_codec_does(tmp_path):
    """The indexing codec (field lengths read once, small blocks raw) leaves the same postings and statistics."""
    from whoosh import index as whoosh_index
    from whoosh.codec.whoosh3 import W3Codec

    from newssearch._whoosh_fast.segments import _WriterCodec
    from newssearch.config import AnalysisConfig
    from newssearch.index.schema import build_schema, content_hash, to_document
    from newssearch.ingest.readers import article_from_mapping

    schema = build_schema(AnalysisConfig())
    articles = [article_from_mapping(r, r["id"], "t.jsonl", i) for i, r in enumerate(records(300))]
    entities = [("PER", "Angela Merkel"), ("LOC", "Wien")]

    def build(name: str, codec) -> dict:
        folder = tmp_path / name
        folder.mkdir()
        ix = whoosh_index.create_in(str(folder), schema)
        writer = ix.writer(codec=codec)
        for i, article in enumerate(articles):
            writer.add_document(
                **to_document(article, content_hash(article), "Politik", entities=entities[: i % 3])
            )
        writer.commit()
        out, compressed = {}, set()
        with ix.reader() as reader:
            assert [type(s.codec()) for s in ix._segments()] == [
                W3Codec
            ]  # readable by plain Whoosh
            for fieldname, text in reader.all_terms():
                info = reader.term_info(fieldname, text)
                blocks = []
                m = reader.postings(fieldname, text)
                while m.is_active():
                    blocks.append(
                        (m.block_min_length(), m.block_max_length(), m.block_max_weight())
                    )
                    compressed.add(
                        bool(m._compression)
                    )  # the block header's flag (Whoosh internals)
                    m.skip_to(m.block_max_id() + 1)
                postings = list(reader.postings(fieldname, text).all_items())
                out[fieldname, text] = (
                    info.min_length(),
                    info.max_length(),
                    info.max_weight(),
                    info.doc_frequency(),
                    blocks,
                    postings,
                )
        return out, compressed

    (ours, our_blocks), (whooshs, whoosh_blocks) = (
        build("ours", _WriterCodec()),
        build("whoosh", W3Codec()),
    )
    assert ours == whooshs
    assert our_blocks == {False, True} and whoosh_blocks == {
        True
    }  # small blocks raw, large ones compressed
    assert {v[0] for k, v in ours.items() if k[0] == "body"} != {
        0
    }  # lengths were read, not defaulted


def test_date_field_terms_are_whooshs():
    """The date field converts a date once for its eight tier terms; the terms are DATETIME's."""
    import datetime as dt
    import random

    from whoosh.fields import DATETIME

    from newssearch.index.schema import NewsDate

    whooshs, ours = DATETIME(stored=True, sortable=True), NewsDate(stored=True, sortable=True)
    rng = random.Random(5)
    dates = [
        dt.datetime(1900, 1, 1)
        + dt.timedelta(seconds=rng.randrange(200 * 365 * 86400), microseconds=rng.randrange(10**6))
        for _ in range(2000)
    ]
    for value in [*dates, dt.datetime(2016, 5, 1), "2016-05-01", dates[:2]]:
        assert list(ours.index(value)) == list(whooshs.index(value)), value
    assert len(list(ours.index(dates[0]))) == 8


def test_repeating_fields_reuse_whooshs_terms_and_pickle_without_them():
    """Sources, topics and names keep each value's terms: the same as Whoosh's, not in the pickled schema."""
    import pickle

    from whoosh.fields import ID, KEYWORD, TEXT

    from newssearch.index.schema import RepeatedID, RepeatedKeyword, RepeatedText, UniqueID
    from newssearch.text.analysis import build_keyword_analyzer

    keyword = build_keyword_analyzer()
    pairs = [
        (RepeatedText(analyzer=keyword, stored=True), TEXT(analyzer=keyword, stored=True)),
        (
            RepeatedKeyword(commas=True, lowercase=True, scorable=False),
            KEYWORD(commas=True, lowercase=True, scorable=False),
        ),
        (RepeatedID(sortable=True), ID(sortable=True)),
    ]
    values = [
        "Der Standard",
        "Inland,Wahl 2017",
        "Süddeutsche Zeitung",
        "Der Standard",
        "",
        " x ",
        "a\nb",
    ]
    for ours, whooshs in pairs:
        for value in values * 2:
            assert list(ours.index(value)) == list(whooshs.index(value)), (type(ours), value)
        assert ours._memo and b"_memo" not in pickle.dumps(ours)
        assert list(pickle.loads(pickle.dumps(ours)).index("Der Standard")) == list(
            whooshs.index("Der Standard")
        )
    unique, whooshs = (
        UniqueID(stored=True, unique=True, sortable=True),
        ID(stored=True, unique=True, sortable=True),
    )
    for value in [*values, "hl-000001", "ü" * 3, ["a", "b"]]:
        assert list(unique.index(value)) == list(whooshs.index(value)), value


def _segment_files(
    folder: Path, articles: list, make_writer, commit=lambda w: w.commit()
) -> dict[str, bytes]:
    """Index ``articles`` into a new index in ``folder`` with ``make_writer(ix)``; its one segment's files."""
    from whoosh import index as whoosh_index

    from newssearch.config import AnalysisConfig
    from newssearch.index.schema import build_schema, content_hash, to_document

    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), build_schema(AnalysisConfig()))
    writer = make_writer(ix)
    for i, article in enumerate(articles):
        writer.add_document(
            **to_document(
                article,
                content_hash(article),
                "Politik",
                entities=[("PER", "Angela Merkel")][: i % 2],
            )
        )
    commit(writer)
    (segment,) = ix._segments()
    files = segment.open_compound_file(ix.storage)
    named = {name[len(segment.segment_id()) :]: files.open_file(name).read() for name in files._dir}
    with ix.searcher() as searcher:  # a term in three blocks (128 postings each, the last 44)
        assert searcher.doc_frequency("topic", "politik") == 300
    return named


@pytest.fixture(scope="module")
def whoosh_segment(tmp_path_factory) -> tuple[list, dict[str, bytes]]:
    """300 articles and the segment files Whoosh's own writer makes of them (no block compressed)."""
    from whoosh.codec.whoosh3 import W3Codec

    from newssearch.ingest.readers import article_from_mapping

    articles = [article_from_mapping(r, r["id"], "t.jsonl", i) for i, r in enumerate(records(300))]
    return articles, _segment_files(
        tmp_path_factory.mktemp("whoosh") / "ix",
        articles,
        lambda ix: ix.writer(codec=W3Codec(compression=0)),
    )


@pytest.mark.parametrize("how", ["codec", "writer", "spilled", "helped", "helper fails"])
def test_segment_writer_writes_whooshs_bytes(tmp_path, monkeypatch, whoosh_segment, how):
    """With compression out of the picture, the segment files equal Whoosh's writer's byte for byte.

    ``codec``: the fused postings loop; ``writer``: also the posting pool sorted field by field;
    ``spilled``: that pool's runs on disk; ``helped``: a forked helper makes the second part of
    the terms; ``helper fails``: this process then makes them itself.
    """
    monkeypatch.setattr(
        segments, "RAW_BLOCK_BYTES", 10**9
    )  # no block compressed; Whoosh's compression=0
    articles, whooshs = whoosh_segment
    forks = []
    if how in ("helped", "helper fails"):
        monkeypatch.setattr(segments, "HELPER_MIN", 1)
        monkeypatch.setattr(
            segments._Forked,
            "__init__",
            lambda self, f, init=segments._Forked.__init__: (forks.append(f), init(self, f))[1],
        )
    if how == "helper fails":
        monkeypatch.setattr(segments, "_helper_terms", lambda *args: 1 / 0)

    def make(ix):
        if how == "codec":
            return ix.writer(codec=segments._WriterCodec())
        writer = segments.Writer(ix)
        if how == "spilled":
            writer.pool.limit = 50_000  # bytes: the postings go to disk in several sorted runs
        return writer

    def commit(writer):
        writer.commit(
            helper=how in ("helped", "helper fails")
        ) if how != "codec" else writer.commit()
        if how == "spilled":
            assert writer.pool.runs == [] and writer.pool.current == []  # merged from disk

    ours = _segment_files(tmp_path / "ix", articles, make, commit)
    if (
        how == "spilled"
    ):  # Whoosh's own postings read back from runs differ a little from its in-memory ones
        from whoosh.codec.whoosh3 import W3Codec

        def spilling(ix):
            writer = ix.writer(codec=W3Codec(compression=0))
            writer.pool.limit = 50_000
            return writer

        whooshs = _segment_files(tmp_path / "whoosh", articles, spilling)
    assert sorted(ours) == sorted(whooshs) and ".pst" in ours and ".trm" in ours
    assert ours == whooshs
    assert len(forks) == (how in ("helped", "helper fails"))


def test_pool_sorts_as_whoosh_does():
    """Sorted field by field on the term alone, postings come out in the order of whole tuples."""
    import random

    from newssearch._whoosh_fast.segments import _sorted

    rng = random.Random(3)
    postings = [
        (field, term, doc, 1.0, b"")
        for doc in range(200)
        for field in rng.sample(["body", "title", "date", "id"], 3)
        for term in {
            rng.choice([b"a", b"ab", b"b", b"\xc3\xa4", b"z", b"", b"ba"]) for _ in range(4)
        }
    ]
    rng.shuffle(postings)
    postings.sort(key=lambda p: p[2])  # the writer adds them document by document
    out = _sorted(postings)
    assert out == sorted(postings)
    assert out.fields == {
        name: out.index(next(p for p in out if p[0] == name))
        for name in ["body", "date", "id", "title"]
    }
    for share in (0.0, 0.2, 0.5, 0.9, 1.0):
        at = out.split(share)
        assert at == len(out) or at == 0 or out[at][:2] != out[at - 1][:2]  # a term starts there


def test_term_table_positions_widen_as_whooshs_do():
    """The term table's key positions, added at once, take the array type Whoosh's one-by-one adds give."""
    from whoosh.util.numlists import GrowableArray

    from newssearch._whoosh_fast.segments import _extend

    for last in (10, 2**16 - 1, 2**16, 2**31 - 1, 2**31, 2**32 + 5):
        positions = [1, 5, last // 2, last] if last > 5 else [1, 5, last]
        theirs, ours = GrowableArray("H"), GrowableArray("H")
        theirs.extend(positions)
        _extend(ours, positions)
        assert ours.typecode == theirs.typecode and list(ours) == list(theirs), last
