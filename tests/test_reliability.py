"""Crash safety, concurrent use and hostile input, with real processes where it matters."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newssearch import Config, IndexingConfig, NewsSearch, QueryError, SearchConfig

from .conftest import write_jsonl

WORKER = Path(__file__).with_name("stress_worker.py")
STRESS_SECONDS = float(os.environ.get("NEWSSEARCH_STRESS_SECONDS", "30"))
FUZZ_QUERIES = int(os.environ.get("NEWSSEARCH_FUZZ_QUERIES", "2000"))
FUZZ_RECORDS = int(os.environ.get("NEWSSEARCH_FUZZ_RECORDS", "1000"))
WORDS = [
    "Flüchtlinge",
    "Wien",
    "Regierung",
    "Asylpaket",
    "Bundesrat",
    "Kooperationsabkommen",
    "Rapid",
    "Wahl",
]


def corpus(path: Path, n: int, prefix: str = "d") -> Path:
    return write_jsonl(
        path,
        [
            {
                "id": f"{prefix}{i}",
                "title": f"Meldung {i}",
                "text": f"{WORDS[i % len(WORDS)]} {WORDS[(i * 7) % len(WORDS)]} "
                f"Nummer {i} " + "Lorem ipsum dolor sit amet " * 20,
            }
            for i in range(n)
        ],
    )


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "newssearch", *args], capture_output=True, text=True, timeout=timeout
    )


def snapshot(index: Path) -> tuple[int, list]:
    with NewsSearch(index) as ns:
        return ns.count(), [
            (h.id, round(h.score, 6))
            for h in ns.search("Flüchtlinge Wien Regierung", limit=20).hits
        ]


def kill_when(proc: subprocess.Popen, ready) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` is true (or when it ends by itself)."""
    while proc.poll() is None and not ready():
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def committed(index: Path) -> int:
    try:
        with NewsSearch(index) as ns:
            return ns.count()
    except Exception:
        return 0


def committed_beside(index: Path, indexname: str) -> int:
    """Documents committed so far in a rebuild's new index (written beside the live one)."""
    from whoosh import index as whoosh_index

    try:
        if not whoosh_index.exists_in(str(index), indexname=indexname):
            return 0
        return whoosh_index.open_dir(str(index), indexname=indexname).doc_count()
    except Exception:
        return 0


def writing(index: Path, started: float) -> bool:
    """The run holds the write lock (its pid is in the lock file) and has had 0.1 s to start writing."""
    try:
        return (
            bool((index / "newssearch.lock").read_text().strip())
            and time.monotonic() - started > 0.1
        )
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("batches", [0, 2, 7, 15, 26])
def test_sigkill_during_indexing_leaves_last_commit(tmp_path, batches):
    """Kill points: after `batches` batch commits of the run (0 = before its first commit)."""
    index = tmp_path / "ix"
    (tmp_path / "c.yaml").write_text(f"index: {index}\nindexing:\n  batch_size: 100\n")
    base = corpus(tmp_path / "base.jsonl", 300, "b")
    assert run_cli("index", "--config", str(tmp_path / "c.yaml"), str(base)).returncode == 0
    before = snapshot(index)
    more = corpus(tmp_path / "more.jsonl", 3000, "m")
    args = [sys.executable, "-m", "newssearch", "index", "--config", str(tmp_path / "c.yaml")]
    # 1. a rebuild killed part-way: the old index answers exactly as before
    proc = subprocess.Popen([*args, "--rebuild", str(base), str(more)])
    started = time.monotonic()
    # Kill on the rebuild's own progress, not on a clock: a fast machine finishes before any fixed delay.
    kill_when(
        proc,
        (lambda: writing(index, started))
        if batches == 0
        else (lambda: committed_beside(index, "ns2") >= batches * 100),
    )
    assert proc.returncode == -signal.SIGKILL, "the rebuild ended before it could be killed"
    assert snapshot(index) == before
    assert NewsSearch(index).check().ok
    # 2. an incremental run killed part-way: the index is at one of its batch commits
    proc = subprocess.Popen([*args, str(more)])
    started = time.monotonic()
    kill_when(
        proc,
        (lambda: writing(index, started))
        if batches == 0
        else (lambda: committed(index) >= 300 + batches * 100),
    )
    count, _ = snapshot(index)
    assert (count - 300) % 100 == 0 and 300 <= count <= 3300
    if batches:
        assert count >= 300 + batches * 100
    check = NewsSearch(index).check()
    assert check.ok, check.problems
    # 3. the next run completes the job, skipping what was committed, and says it found a dead writer
    done = run_cli("index", "--config", str(tmp_path / "c.yaml"), "--json", str(base), str(more))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (
        report["documents"] == 3300
        and report["unchanged"] == count
        and report["added"] == 3300 - count
    )
    assert report["read"] == report["added"] + report["updated"] + report["unchanged"] + len(
        report["rejected"]
    )
    assert any("stale lock" in note for note in report["notes"])


@pytest.mark.slow
def test_concurrent_writers_and_readers(tmp_path):
    index = tmp_path / "ix"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                "writer",
                str(index),
                f"w{i}",
                str(STRESS_SECONDS),
                str(tmp_path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    time.sleep(0.5)
    procs += [
        subprocess.Popen(
            [sys.executable, str(WORKER), "reader", str(index), str(STRESS_SECONDS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=STRESS_SECONDS + 240) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=False):
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    given = sum(int(out.split()[1]) for out, _ in outputs[:2])
    assert given > 0
    with NewsSearch(index) as ns:
        assert ns.count() == given
        assert ns.check().ok


@pytest.fixture(scope="module")
def fuzz_index(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    config = Config(index=tmp / "ix", search=SearchConfig(time_limit=2.0))
    ns = NewsSearch(tmp / "ix", config)
    ns.index([corpus(tmp / "c.jsonl", 200)])
    yield ns
    ns.close()


QUERY_PIECES = st.one_of(
    st.sampled_from(
        [
            *WORDS,
            "AND",
            "OR",
            "NOT",
            "ANDNOT",
            "ANDMAYBE",
            "(",
            ")",
            '"',
            "[",
            "]",
            "{",
            "}",
            "*",
            "?",
            "~2",
            "^3",
            ":",
            "title:",
            "date:",
            "body:",
            "nofield:",
            "date:[2015 to 2016]",
            "date:>2015",
            "*ung",
            "Flücht*",
            "-",
            "to",
            "TO",
            "„",
            "“",
            "\\",
            "'",
            "+",
            "!",
        ]
    ),
    st.text(max_size=12),
)


@pytest.mark.slow
@settings(max_examples=FUZZ_QUERIES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(QUERY_PIECES, max_size=12).map(" ".join) | st.text(max_size=60))
def test_hostile_queries_give_hits_or_a_clear_error(fuzz_index, text):
    try:
        result = fuzz_index.search(text)
    except QueryError as exc:
        assert str(exc)
    else:
        assert result.total >= len(result.hits)


@pytest.mark.parametrize(
    "text",
    [
        " OR ".join(f"wort{i}" for i in range(2000)),
        "(" * 300 + "Wien" + ")" * 300,
        "*ung",
        "nofield:Wien AND title:(Wien OR",
    ],
)
def test_extreme_queries(fuzz_index, text):
    try:
        fuzz_index.search(text)
    except QueryError as exc:
        assert str(exc)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)
FIELDS = st.sampled_from(
    ["id", "title", "text", "body", "date", "source", "url", "author", "section", "x"]
)
RECORDS = st.one_of(
    st.dictionaries(FIELDS, JSON_VALUES | st.text(max_size=40), max_size=6).map(json.dumps),
    st.dictionaries(FIELDS, st.text(min_size=1, max_size=40), min_size=1, max_size=6).map(
        json.dumps
    ),
    JSON_VALUES.map(json.dumps),
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" ").decode("latin-1")),
    st.text(max_size=60).map(lambda t: t.replace("\n", " ").replace("\r", " ")),
)


@pytest.mark.slow
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(RECORDS, min_size=FUZZ_RECORDS, max_size=FUZZ_RECORDS))
def test_broken_records_are_all_accounted_for(tmp_path_factory, lines):
    tmp = tmp_path_factory.mktemp("records")
    path = tmp / "r.jsonl"
    path.write_text(
        "".join(line.replace("\u2028", " ").replace("\u2029", " ") + "\n" for line in lines),
        "utf-8",
        errors="surrogatepass",
    )
    with NewsSearch(tmp / "ix") as ns:
        report = ns.index([path])
        rejects = tmp / "rejects.jsonl"
        report.write_rejects(rejects)
        rejected_lines = {
            json.loads(line)["line"] for line in rejects.read_text("utf-8").splitlines()
        }
        non_blank = sum(1 for line in path.read_bytes().splitlines() if line.strip())
        assert (
            report.read
            == report.added + report.updated + report.unchanged + len(report.rejected)
            == non_blank
        )
        assert report.documents == ns.count() == report.added
        assert len(rejected_lines) == len(report.rejected)


def test_huge_article_and_long_tokens(tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "huge", "text": "Wort " * 10_500_000}) + "\n")
        fh.write(json.dumps({"id": "long", "text": "Wien " + "x" * 100_000 + " Regierung"}) + "\n")
    with NewsSearch(tmp_path / "ix") as ns:
        report = ns.index([path])
        assert report.added == 1 and report.rejected[0].line == 1
        assert "over indexing.max_text_mb" in report.rejected[0].reason
        assert [h.id for h in ns.search("Regierung").hits] == ["long"]


def test_second_writer_times_out_with_a_clear_message(tmp_path):
    index = tmp_path / "ix"
    NewsSearch(index).index([corpus(tmp_path / "a.jsonl", 5)])
    from newssearch.index.writer import write_lock

    with write_lock(index, timeout=1):
        config = Config(index=index, indexing=IndexingConfig(lock_timeout=0.5))
        result = run_cli("index", "--index", str(index), str(tmp_path / "a.jsonl"))
        with pytest.raises(Exception) as info:
            NewsSearch(index, config).index([tmp_path / "a.jsonl"])
    assert "another process" in str(info.value) and "lock_timeout" in str(info.value)
    assert (
        result.returncode == 1
        and "another process" in result.stderr
        and "Traceback" not in result.stderr
    )
