"""Issue 21: nothing lost, nothing hangs, nothing damaged passes `check` (R1-R11)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from newssearch import (
    Config,
    EnrichConfig,
    IndexDamagedError,
    IndexingConfig,
    IndexWriteError,
    NewsSearch,
    NewsSearchError,
    QueryError,
)
from newssearch.cli import cli
from newssearch.index import writer

from .conftest import write_jsonl

FAST = EnrichConfig(sections=False, entities=False)
#: subprocesses import this checkout's newssearch, whatever the working folder
ENV = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}


def config(index: Path, **indexing) -> Config:
    return Config(index=index, enrich=FAST, indexing=IndexingConfig(workers=1, **indexing))


def records(n: int, prefix: str = "d") -> list[dict]:
    words = ["Flüchtlinge", "Wien", "Regierung", "Asylpaket", "Bundesrat", "Rapid", "Wahl"]
    return [
        {
            "id": f"{prefix}{i}",
            "title": f"Meldung {i} {words[i % 7]}",
            "date": f"2016-0{1 + i % 9}-1{i % 10}",
            "source": ["Kurier", "Der Standard", "SZ"][i % 3],
            "text": f"{words[i % 7]} {words[(i * 3) % 7]} Nummer {i} in Österreich. " * 3,
        }
        for i in range(n)
    ]


def build(tmp_path: Path, n: int = 300, name: str = "index") -> tuple[NewsSearch, Path]:
    index = tmp_path / name
    ns = NewsSearch(index, config(index))
    ns.index([write_jsonl(tmp_path / f"{name}-corpus.jsonl", records(n))])
    return ns, index


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


# -- R1: never delete what you did not create --------------------------------------------------


def test_r1_lost_meta_file_is_restored_not_emptied(tmp_path: Path) -> None:
    ns, index = build(tmp_path)
    (index / "newssearch.json").unlink()
    result = invoke("check", "--index", str(index))
    assert result.exit_code == 1
    assert "restores it from manifest.json" in result.output
    report = ns.index([write_jsonl(tmp_path / "new.jsonl", records(5, prefix="n"))])
    assert report.documents == 305
    assert any("restored it from manifest.json" in note for note in report.notes)
    assert ns.check().ok


def test_r1_unrecoverable_meta_is_refused_and_nothing_deleted(tmp_path: Path) -> None:
    ns, index = build(tmp_path)
    (index / "newssearch.json").unlink()
    (index / "manifest.json").unlink()
    before = sorted(p.name for p in index.iterdir())
    with pytest.raises(NewsSearchError, match="nothing was deleted"):
        ns.index([write_jsonl(tmp_path / "new.jsonl", records(5, prefix="n"))])
    assert sorted(p.name for p in index.iterdir()) == before
    result = invoke("check", "--index", str(index))
    assert result.exit_code == 1 and "restore newssearch.json" in result.output
    report = ns.index([tmp_path / "index-corpus.jsonl"], rebuild=True)  # the fix it names
    assert report.documents == 300 and ns.check().ok
    assert not [p for p in index.iterdir() if p.name.startswith(("ns1", "_ns1"))]


# -- R9: malformed meta and manifest ------------------------------------------------------------


@pytest.mark.parametrize("content", ["[1,2,3]", '{"indexname": 5}', "\xff\xfe", "null"])
def test_r9_malformed_meta_is_a_problem_not_a_crash(tmp_path: Path, content: str) -> None:
    ns, index = build(tmp_path)
    (index / "newssearch.json").write_bytes(content.encode("latin-1"))
    report = ns.check()
    assert not report.ok and "newssearch.json is unreadable" in report.problems[0]
    assert ns.count() == 300  # readers recover the meta data from the manifest
    ns.index([write_jsonl(tmp_path / "new.jsonl", records(2, prefix="n"))])
    assert ns.check().ok and ns.count() == 302


def test_r9_malformed_manifest_is_a_warning(tmp_path: Path) -> None:
    ns, index = build(tmp_path)
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["documents"] = "lots"
    (index / "manifest.json").write_text(json.dumps(manifest))
    report = ns.check()
    assert report.ok and any("malformed" in w for w in report.warnings)
    (index / "manifest.json").write_text("[]")
    assert ns.check().ok


# -- R2, R3, R5: one bad record rejects that record only ---------------------------------------


def test_r2_r3_r5_bad_records_rejected_run_goes_on(tmp_path: Path) -> None:
    deep = '{"id": "deep", "text": "x", "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = [
        '{"id": "b", "text": "x \\ud800"}',
        deep,
        '{"id": " ", "text": "blank id"}',
        '{"id": "\\u0000", "text": "nul id"}',
        '{"id": "a\\u0007b", "text": "bell in the id"}',
        *[json.dumps(r) for r in records(3)],
    ]
    index = tmp_path / "index"
    with NewsSearch(index, config(index)) as ns:
        report = ns.index([write_jsonl(tmp_path / "c.jsonl", lines)])
        # a blank id is no id: the record gets its file:line, as records without one do
        assert report.added == 4 and len(report.rejected) == 4
        assert ns.get("c.jsonl:3") is not None
        reasons = " | ".join(r.reason for r in report.rejected)
        assert "lone surrogate (U+D800)" in reasons
        assert "nested too deeply" in reasons
        assert "U+0000" in reasons and "U+0007" in reasons
        assert ns.check().ok


def test_over_long_record_keeps_its_record_in_rejects(tmp_path: Path) -> None:
    index = tmp_path / "index"
    cfg = config(index, max_text_mb=0.0001)
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"id": "long", "text": "Wort " * 100}])
    with NewsSearch(index, cfg) as ns:
        report = ns.index([corpus])
    [rejection] = report.rejected
    assert json.loads(rejection.to_dict()["record"])["id"] == "long"


def test_failing_enrichment_rejects_one_record(tmp_path: Path, monkeypatch) -> None:
    from newssearch.enrich.entities import EntityExtractor

    real = EntityExtractor.extract_many

    def flaky(self, texts):  # the tagger fails on one article's text
        if any("explodes" in text for text in texts):
            raise ValueError("tagger failed")
        return real(self, texts)

    monkeypatch.setattr(EntityExtractor, "extract_many", flaky)
    index = tmp_path / "index"
    cfg = Config(index=index, enrich=EnrichConfig(sections=False, entities=True))
    cfg = cfg.replace(indexing=IndexingConfig(workers=1))
    corpus = [*records(4), {"id": "boom", "text": "this one explodes"}]
    with NewsSearch(index, cfg) as ns:
        report = ns.index([write_jsonl(tmp_path / "c.jsonl", corpus)])
        assert report.added == 4
        [rejection] = report.rejected
        assert "tagger failed" in rejection.reason and rejection.raw


# -- R4: special files, loops, dangling links, undecodable names -------------------------------


def test_r4_special_files_are_skipped_and_listed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_jsonl(corpus / "good.jsonl", records(2))
    os.symlink(corpus / "loop2.jsonl", corpus / "loop1.jsonl")
    os.symlink(corpus / "loop1.jsonl", corpus / "loop2.jsonl")
    os.symlink(corpus / "nowhere.jsonl", corpus / "dangling.jsonl")
    os.mkfifo(corpus / "pipe.jsonl")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(corpus / "s.jsonl"))
    (corpus / os.fsdecode(b"bad-\xff.jsonl")).write_text(json.dumps(records(1, "x")[0]) + "\n")
    index = tmp_path / "index"
    result = subprocess.run(
        [sys.executable, "-m", "newssearch", "index", "--index", str(index), str(corpus),
         str(corpus / "pipe.jsonl")],
        capture_output=True, text=True, timeout=120, env=ENV,
        cwd=tmp_path,
    )  # fmt: skip
    sock.close()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "2 added" in result.stdout
    with NewsSearch(index, config(index)) as ns:
        report = ns.index([corpus])
    skipped = "\n".join(report.skipped_files)
    for reason in ("symbolic link loop", "dangling symbolic link", "FIFO", "socket", "UTF-8"):
        assert reason in skipped


# -- R8: every query-side failure is a QueryError ----------------------------------------------


@pytest.mark.parametrize("text", ['date:"x"', "date:x", 'date:"2016-13-45"'])
def test_r8_bad_dates_are_query_errors(tmp_path: Path, text: str) -> None:
    ns, _ = build(tmp_path, n=20)
    with pytest.raises(QueryError):
        ns.search(text, strict=True)
    with pytest.raises(QueryError):
        list(ns.export(text, strict=True))
    # by default the bad date is left out with a notice
    assert "not a date" in (ns.search(text).notice or "")


# -- R11: own files never followed, rejects never truncated ------------------------------------


def test_r11_planted_links_are_not_followed(tmp_path: Path) -> None:
    ns, index = build(tmp_path, n=10)
    target = tmp_path / "precious.txt"
    target.write_text("secret content")
    (index / "newssearch.lock").unlink()
    os.symlink(target, index / "newssearch.lock")
    with pytest.raises(NewsSearchError, match="symbolic link"):
        ns.index([write_jsonl(tmp_path / "n.jsonl", records(2, "n"))])
    assert target.read_text() == "secret content"
    (index / "newssearch.lock").unlink()
    os.symlink(target, index / "manifest.json.tmp")
    ns.index([write_jsonl(tmp_path / "n.jsonl", records(2, "n"))])
    assert target.read_text() == "secret content"
    assert not (index / "manifest.json.tmp").exists()


def test_r11_rejects_file_needs_force(tmp_path: Path) -> None:
    index = tmp_path / "index"
    corpus = write_jsonl(tmp_path / "c.jsonl", records(3))
    existing = tmp_path / "existing.txt"
    existing.write_text("keep me")
    result = invoke("index", "--index", str(index), "-q", "--rejects", str(existing), str(corpus))
    assert result.exit_code == 1 and "--force" in result.output
    assert existing.read_text() == "keep me"
    result = invoke(
        "index", "--index", str(index), "-q", "--rejects", str(existing), "--force", str(corpus)
    )
    assert result.exit_code == 0 and existing.read_text() == ""


# -- R7: damage is found by check and gives clear errors ---------------------------------------


def _flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xA5]))


def test_check_finds_flipped_bytes_and_queries_say_damaged(tmp_path: Path) -> None:
    ns, index = build(tmp_path)
    [seg] = [p for p in index.iterdir() if p.suffix == ".seg"]
    assert ns.check().ok
    _flip(seg, seg.stat().st_size // 2)
    report = ns.check()
    assert not report.ok and seg.name in report.problems[0]
    with pytest.raises(IndexDamagedError, match=seg.name):
        ns.search("Wien")


def test_truncated_and_missing_segments_give_clear_errors(tmp_path: Path) -> None:
    ns, index = build(tmp_path)
    [seg] = [p for p in index.iterdir() if p.suffix == ".seg"]
    seg.write_bytes(seg.read_bytes()[: seg.stat().st_size // 2])
    assert not ns.check().ok
    for call in (lambda: ns.search("Wien"), lambda: ns.get("d1"), ns.count):
        with pytest.raises(IndexDamagedError, match="check --deep"):
            call()
    seg.unlink()
    assert "missing" in " ".join(ns.check().problems)
    with pytest.raises(IndexDamagedError):
        ns.count()


def test_check_deep_decodes_unrecorded_segments(tmp_path: Path) -> None:
    ns, index = build(tmp_path)
    (index / "ns1_CHECKSUMS.json").unlink()  # as an older newssearch or a killed run leaves it
    report = ns.check(deep=True)
    assert report.ok and "no checksum" in report.warnings[0]
    [seg] = [p for p in index.iterdir() if p.suffix == ".seg"]
    ns.close()
    data = bytearray(seg.read_bytes())
    for offset in range(100, len(data), 997):  # across the file: term tables, postings, columns
        data[offset] ^= 0x5A
    seg.write_bytes(bytes(data))
    assert not ns.check(deep=True).ok


def test_check_deep_passes_a_healthy_index_with_updates_and_undated_articles(
    tmp_path: Path,
) -> None:
    """Deleted documents' postings and the undated articles' date values are no damage."""
    index = tmp_path / "index"
    cfg = config(index).replace(topics={"Flucht": "Flüchtlinge OR Asylpaket"})
    undated = [{**r, "date": None} for r in records(20, "u")]
    with NewsSearch(index, cfg) as ns:
        ns.index([write_jsonl(tmp_path / "a.jsonl", records(60) + undated)])
        changed = [{**r, "text": r["text"] + " Nachtrag."} for r in records(60)[:15]]
        ns.index([write_jsonl(tmp_path / "b.jsonl", changed)])  # updates delete old copies
        report = ns.check(deep=True)
        assert report.ok, report.problems
        assert ns.count() == 80
    result = invoke("check", "--deep", "--index", str(index))
    assert result.exit_code == 0, result.output


ANSWERS = ["Wien", "Flüchtlinge Regierung", '"Nummer 7"', "Meld*", "date:2016-03"]


def _answers(ns: NewsSearch) -> list:
    out = []
    for q in ANSWERS:
        r = ns.search(q, limit=400, facets=("source", "date"))
        out.append(([(h.id, round(h.score or 0, 5), h.title) for h in r.hits], r.total, r.facets))
    out.append([tuple(sorted(row.items())) for row in ns.export("Wien")])
    out.append([ns.get(f"d{i}") for i in range(0, 300, 37)])
    return out


@pytest.mark.slow
def test_attack_random_byte_flips(tmp_path: Path) -> None:
    """200 flips at random offsets in every kind of index file: every flip that changes an
    answer is reported by check, and queries never give a traceback."""
    ns, index = build(tmp_path)
    ns.index([write_jsonl(tmp_path / "more.jsonl", records(50, "m"))])  # a second segment
    expected = _answers(ns)
    ns.close()
    pristine = {p.name: p.read_bytes() for p in index.iterdir() if p.is_file()}
    targets = [n for n in pristine if n.endswith((".seg", ".toc", "_CHECKSUMS.json"))]
    assert any(n.endswith(".toc") for n in targets) and any(n.endswith(".seg") for n in targets)
    rng = random.Random(21)
    changed = undetected = 0
    for _ in range(200):
        name = rng.choice(targets)
        offset = rng.randrange(len(pristine[name]))
        _flip(index / name, offset)
        with NewsSearch(index, config(index)) as fresh:
            found = not fresh.check().ok
            try:
                differs = _answers(fresh) != expected
            except NewsSearchError:
                differs = True
        changed += differs
        undetected += differs and not found
        (index / name).write_bytes(pristine[name])
    print(f"\n200 flips: {changed} changed an answer, {undetected} of them passed check")
    assert changed > 0
    assert undetected == 0


# -- No code from index files ------------------------------------------------------------------


class _Payload:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_crafted_pickles_cannot_run_code(tmp_path: Path) -> None:
    from whoosh.filedb.compound import CompoundStorage
    from whoosh.filedb.filestore import FileStorage

    ns, index = build(tmp_path, n=20)
    ns.close()
    marker = tmp_path / "pwned"
    evil = pickle.dumps(_Payload(str(marker)), 2)
    [toc] = [p for p in index.iterdir() if p.suffix == ".toc"]
    [seg] = [p for p in index.iterdir() if p.suffix == ".seg"]
    pristine = {toc: toc.read_bytes(), seg: seg.read_bytes()}

    def attempt() -> None:
        with NewsSearch(index, config(index)) as fresh:
            calls = [
                fresh.check,
                lambda: fresh.check(deep=True),
                lambda: fresh.search("Wien"),
                fresh.count,
                lambda: fresh.get("d1"),
            ]
            for call in calls:
                with contextlib.suppress(NewsSearchError):
                    call()
                assert not marker.exists()

    # the schema in the table of contents
    data = pristine[toc]
    schema_start = data.index(b"\x80\x02")  # protocol 2 pickle of the schema
    length_pos = schema_start - 1
    crafted = data[:length_pos] + bytes([len(evil)]) + evil
    toc.write_bytes(crafted + data[schema_start + data[length_pos] :])
    attempt()
    toc.write_bytes(pristine[toc])
    # the segment's directory: a pickle at the offset the file's header names
    raw = pristine[seg]
    cs = CompoundStorage(FileStorage(str(index)).open_file(seg.name), use_mmap=False)
    dir_offset = cs._diroffset
    [pst] = [n for n in cs.list() if n.endswith(".pst")]
    start, length = cs.range(pst)
    cs.close()
    seg.write_bytes(raw[:dir_offset] + evil + evil)
    attempt()
    # a posting block: its pickle replaced by the payload (the file keeps its length)
    at = raw.find(b"\x80\x02", start, start + length)
    assert at >= 0
    seg.write_bytes(raw[:at] + evil + raw[at + len(evil) :])
    attempt()


# -- R10: clean failure and clean-up -----------------------------------------------------------


def folder_bytes(folder: Path) -> int:
    """The bytes of every file under ``folder``."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if not p.is_dir())


def test_disk_full_is_one_clear_message_and_leaves_no_partial_files(
    tmp_path: Path, monkeypatch
) -> None:
    ns, index = build(tmp_path)
    clean_size = folder_bytes(index)
    import whoosh.filedb.structfile as structfile

    real_write = structfile.StructFile.write

    writes = [0]

    def full(self, data):  # the disk fills up after some writes of the run
        writes[0] -= 1
        if writes[0] < 0:
            raise OSError(errno.ENOSPC, "No space left on device", "ns1_x.seg")
        return real_write(self, data)

    for attempt in range(5):  # index, optimize, --rebuild, index, optimize
        writes[0] = [0, 40, 25, 10, 80][attempt]
        monkeypatch.setattr(structfile.StructFile, "write", full)
        with pytest.raises(IndexWriteError, match=r"disk holding .* is full.*: free at least"):
            if attempt % 3 == 0:
                ns.index([write_jsonl(tmp_path / "n.jsonl", records(200 + attempt, "n"))])
            elif attempt % 3 == 1:
                ns.optimize()
            else:
                ns.index([tmp_path / "index-corpus.jsonl"], rebuild=True)
        monkeypatch.setattr(structfile.StructFile, "write", real_write)
        assert ns.count() == 300
    leftovers = [p.name for p in index.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers
    assert folder_bytes(index) <= 2 * clean_size
    assert ns.check().ok


@pytest.mark.slow
def test_killed_runs_leave_the_folder_small(tmp_path: Path) -> None:
    """Kills at random moments of index, --rebuild and optimize; the next run cleans up."""
    import signal
    import time

    corpus = write_jsonl(tmp_path / "c.jsonl", records(3000))
    index = tmp_path / "index"
    args = [sys.executable, "-m", "newssearch", "index", "--index", str(index), "-q"]
    env = ENV
    subprocess.run([*args, str(corpus)], check=True, env=env, cwd=tmp_path, timeout=600)
    rng = random.Random(10)
    for i in range(20):
        mode = i % 3
        cmd = (
            [*args, str(corpus)]
            if mode == 0
            else [*args, "--rebuild", str(corpus)]
            if mode == 1
            else [sys.executable, "-m", "newssearch", "optimize", "--index", str(index)]
        )
        if mode == 0:
            write_jsonl(tmp_path / "c.jsonl", records(3000 + 100 * i))
        proc = subprocess.Popen(cmd, env=env, cwd=tmp_path)
        time.sleep(rng.uniform(0.5, 15))  # start-up, reading, enriching, committing, merging
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    subprocess.run([*args, str(corpus)], check=True, env=env, cwd=tmp_path, timeout=600)
    fresh = tmp_path / "fresh"
    subprocess.run([*args[:-2], str(fresh), "-q", str(corpus)], check=True, env=env, cwd=tmp_path)
    sizes = folder_bytes(index), folder_bytes(fresh)
    print(f"\nafter 20 kills and one run: {sizes[0]:,} bytes; a clean index: {sizes[1]:,} bytes")
    assert sizes[0] <= 2 * sizes[1]
    with NewsSearch(index) as ns:
        assert ns.check().ok


def test_restricted_unpickler_allows_the_schema_and_refuses_the_rest() -> None:
    from newssearch import AnalysisConfig
    from newssearch.index import safe_pickle
    from newssearch.index.schema import build_schema

    assert safe_pickle.installed()
    schema = build_schema(AnalysisConfig())
    assert safe_pickle.loads(pickle.dumps(schema, 2)).names() == schema.names()
    for evil in (os.system, open, subprocess.Popen, writer.clean_leftovers):
        with pytest.raises(safe_pickle.UnsafePickleError):
            safe_pickle.loads(pickle.dumps(evil))


def test_no_op_reruns_leave_no_orphans(tmp_path: Path) -> None:
    ns, index = build(tmp_path)
    files = sorted(p.name for p in index.iterdir())
    for _ in range(3):
        report = ns.index([tmp_path / "index-corpus.jsonl"])
        assert report.unchanged == 300
    assert sorted(p.name for p in index.iterdir()) == files
    (index / "ns1.tmp").mkdir()  # a killed run's spill folder
    (index / "ns1.tmp" / "spill").write_bytes(b"x" * 1000)
    (index / "ns1_0123456789abcdef.seg").write_bytes(b"x" * 1000)  # an uncommitted segment
    (index / "ns7_0123456789abcdef.seg").write_bytes(b"x" * 1000)  # an abandoned rebuild's
    ns.index([tmp_path / "index-corpus.jsonl"])
    assert sorted(p.name for p in index.iterdir()) == files


def all_queries(q):
    """``q`` and every query inside it."""
    yield q
    for child in q.children():
        yield from all_queries(child)


@pytest.mark.parametrize("text", ["**", "(*)", "* *", "( * )"])
def test_star_queries_are_every_article(tmp_path: Path, text: str) -> None:
    from whoosh import query as wq

    from newssearch.index.schema import build_schema
    from newssearch.query import search

    ns, _ = build(tmp_path, n=30)
    assert ns.search(text).total == 30
    assert ns.search(f"Wien NOT {text}", strict=True).total == 0
    parser = search.build_parser(build_schema(ns.config.analysis), ns.config.search, None)
    for q in (text, f"NOT {text}", f"Wien OR {text}"):
        parsed = search.parse(parser, q)
        assert not [s for s in all_queries(parsed) if isinstance(s, wq.Every) and s.fieldname]


def test_a_reader_failing_on_one_file_rejects_that_file_only(tmp_path: Path, monkeypatch) -> None:
    from newssearch.ingest import readers

    real = readers.article_from_mapping

    def failing(data, record_id, display, *rest):  # the reader breaks on bad.jsonl's 2nd line
        if display.endswith("bad.jsonl") and data["id"] != "b0":
            raise ValueError("reader bug")
        return real(data, record_id, display, *rest)

    monkeypatch.setattr(readers, "article_from_mapping", failing)
    write_jsonl(tmp_path / "c" / "bad.jsonl", records(3, "b"))
    write_jsonl(tmp_path / "c" / "good.jsonl", records(3, "g"))
    index = tmp_path / "index"
    with NewsSearch(index, config(index)) as ns:
        report = ns.index([tmp_path / "c"])
    assert report.added == 4
    [rejection] = report.rejected
    assert rejection.path.endswith("bad.jsonl") and "reader bug" in rejection.reason
