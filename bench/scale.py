"""Scale: index N articles with the full pipeline and as a bare Whoosh index; query latencies.

    python bench/scale.py --docs 10000             # one size; prints a markdown row per index
    python bench/scale.py --docs 10000 100000 300000
    python bench/scale.py --docs 100000 --keep /tmp/scale --queries-only   # re-time queries only
    python bench/scale.py --docs 10000 30000 --repeat 3   # medians of 3 builds each, alternating

Documents: the headlines in ../shared/data/corpus/headlines.jsonl.gz (title as text, outlet as
source, date), with every tenth document a gnad.jsonl body under a fresh id for long-text load.
The pipeline goes through the public API (German analysis, decompounding, section classifier,
entity extraction, facets); the bare index is Whoosh 2.7 with a regex tokenizer, lowercase,
German Snowball stemming and the German stop list, no enrichment. Each build runs in its own
process, so peak memory is that build's: for the pipeline the peak of the summed PSS of the
indexing process and its enrichment workers (sampled every 0.5 s; pages the forked workers share
with it counted once) and, in brackets, ru_maxrss with each worker counted at the largest one's
peak (an upper bound); for the bare build ru_maxrss; the pipeline then indexes the unchanged corpus
once more (the "unchanged rerun" column: seconds, and share of the first run) and then with 1,000
further headlines in a second file (the "+ 1,000 new" column). With ``--repeat K`` both indexes are
built K times, alternately, and docs/s is the median (the ratio is the medians'); memory and the
incremental columns are the last pipeline build's. Then a fixed mix of 100 queries (keywords,
phrases, natural-language queries, with and without a source filter; the pipeline's with entity,
topic, source and date facets) runs against both, and p50/p95/p99 are printed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
FACETS = ("person", "org", "place", "topic", "source", "date")
HEADLINES = 300_000  # lines in headlines.jsonl.gz
PUNCT = ".,:;!?\"'()„“”‚‘’»«–-"


def write_corpus(path: Path, n: int, skip: int = 0, prefix: str = "") -> None:
    """N records as JSON Lines: headlines, every tenth a gnad body with a fresh id (ids get ``prefix``)."""
    gnad = [
        json.loads(line)
        for line in (DATA / "corpus" / "gnad.jsonl").read_text("utf-8").splitlines()
    ]
    with (
        gzip.open(DATA / "corpus" / "headlines.jsonl.gz", "rt", encoding="utf-8") as src,
        open(path, "w", encoding="utf-8") as out,
    ):
        for i, line in enumerate(src):
            if i < skip:
                continue
            if i >= skip + n:
                break
            h = json.loads(line)
            if i % 10 == 9:
                g = gnad[(i // 10) % len(gnad)]
                record = {
                    "id": f"{prefix}long-{i}",
                    "text": g["text"],
                    "date": h["date"],
                    "source": "DER STANDARD",
                }
            else:
                record = {
                    "id": prefix + h["id"],
                    "title": h["title"],
                    "text": h["title"],
                    "date": h["date"],
                    "source": h["outlet"],
                }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


class TreeMemory:
    """Samples the summed PSS of this process and its children (Linux): shared pages counted once."""

    def __init__(self, interval: float = 0.5) -> None:
        import threading

        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        import os

        while not self._stop.wait(interval):
            pids = [os.getpid(), *_children(os.getpid())]
            self.peak_mb = max(self.peak_mb, sum(_pss_mb(pid) for pid in pids))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def build_pipeline(corpus: Path, index_dir: Path, queue) -> None:
    from newssearch import Config, NewsSearch

    extra = corpus.with_name(corpus.stem + "-extra.jsonl")
    memory = TreeMemory()
    with NewsSearch(index_dir, Config(index=index_dir)) as ns:
        report = ns.index([corpus])
        pss = memory.stop()
        rerun = ns.index([corpus])  # nothing changed: reads and compares hashes only
        added = ns.index([corpus, extra])  # 1,000 new articles on top
    # the enrichment workers are part of the run's memory: count each at the largest one's peak
    # (an upper bound; the OS reports only the largest ended child's)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    queue.put(
        {
            "docs": report.read,
            "seconds": report.seconds,
            "maxrss_mb": _maxrss_mb() + report.workers * children,
            "pss_mb": pss,
            "rerun_seconds": rerun.seconds,
            "workers": report.workers,
            "add_seconds": added.seconds,
            "added": added.added,
        }
    )


def build_bare(corpus: Path, index_dir: Path, queue) -> None:
    import datetime as dt

    from whoosh import index
    from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
    from whoosh.fields import DATETIME, ID, TEXT, Schema

    stop = {
        w.strip()
        for w in (ROOT / "src/newssearch/data/stopwords_de.txt")
        .read_text(encoding="utf-8")
        .splitlines()
        if w.strip() and not w.startswith("#")
    }
    analyzer = (
        RegexTokenizer() | LowercaseFilter() | StopFilter(stoplist=stop) | StemFilter(lang="de")
    )
    schema = Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=analyzer, stored=True),
        body=TEXT(analyzer=analyzer, stored=True),
        date=DATETIME(stored=True),
        source=ID(stored=True),
    )
    index_dir.mkdir(parents=True)
    ix = index.create_in(str(index_dir), schema)
    started = time.monotonic()
    writer = ix.writer(limitmb=256)
    n = 0
    for line in Path(corpus).read_text("utf-8").splitlines():
        r = json.loads(line)
        writer.add_document(
            id=r["id"],
            title=r.get("title", ""),
            body=r["text"],
            date=dt.datetime.fromisoformat(r["date"]),
            source=r["source"],
        )
        n += 1
    writer.commit()
    queue.put({"docs": n, "seconds": time.monotonic() - started, "maxrss_mb": _maxrss_mb()})


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_process(target, *args) -> dict:
    """Run a build in a fresh process (its own peak memory) and return what it reports."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def query_mix(corpus: Path, n: int = 100) -> list[dict]:
    """A fixed mix: keywords, phrases and natural-language queries, a third with a source filter."""
    rng = random.Random(7)
    titles = [json.loads(line).get("title") for line in corpus.read_text("utf-8").splitlines()]
    titles = [t for t in titles if t and len(t.split()) >= 4]
    nl = [
        json.loads(line)["query"]
        for line in (DATA / "queries" / "known_item_dev.jsonl").read_text("utf-8").splitlines()
        if json.loads(line)["kind"] == "nl"
    ]
    words = [w.strip(PUNCT) for t in titles for w in t.split() if len(w) > 4 and w[:1].isupper()]
    out = []
    for i in range(n):
        kind = ("keywords", "phrase", "natural")[i % 3]
        if kind == "keywords":
            text = " ".join(rng.sample(words, 2))
        elif kind == "phrase":
            t = rng.choice(titles).split()
            j = rng.randrange(len(t) - 1)
            text = '"' + " ".join(w.strip(PUNCT) for w in t[j : j + 2]) + '"'
        else:
            text = rng.choice(nl)
        out.append({"text": text, "kind": kind, "source": "welt.de" if i % 3 == 1 else None})
    return out


def percentiles(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return f"{q[49]:.0f} / {q[94]:.0f} / {q[98]:.0f}"


def run_queries(
    index_dir: Path, bare_dir: Path, queries: list[dict]
) -> tuple[list[float], list[float], float]:
    from whoosh import index
    from whoosh.qparser import MultifieldParser

    from newssearch import Config, NewsSearch, QueryError

    full, bare = [], []
    with NewsSearch(index_dir, Config(index=index_dir)) as ns:
        # the first facet query reads the facet columns into arrays (once per segment): timed apart
        started = time.perf_counter()
        ns.search("Warm-up", facets=FACETS)
        cold = (time.perf_counter() - started) * 1000
        for q in queries:
            filters = {"source": [q["source"]]} if q["source"] else None
            started = time.perf_counter()
            try:
                ns.search(q["text"], facets=FACETS, filters=filters)
            except QueryError:
                continue
            full.append((time.perf_counter() - started) * 1000)
    ix = index.open_dir(str(bare_dir))
    with ix.searcher() as searcher:
        parser = MultifieldParser(["title", "body"], ix.schema)
        for q in queries:
            started = time.perf_counter()
            parsed = parser.parse(q["text"] + (f' source:"{q["source"]}"' if q["source"] else ""))
            searcher.search(parsed, limit=10)
            bare.append((time.perf_counter() - started) * 1000)
    return full, bare, cold


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[10_000], help="corpus sizes")
    parser.add_argument("--keep", type=Path, help="keep the corpora and indexes in this folder")
    parser.add_argument(
        "--pipeline-only",
        action="store_true",
        help="only build with the full pipeline (indexing numbers; no bare index, no queries)",
    )
    parser.add_argument(
        "--queries-only",
        action="store_true",
        help="only time the query mix on the indexes an earlier run left in --keep",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="K",
        help="build each index K times, pipeline and bare alternately, and compare the medians "
        "(this VM's speed drifts between runs); every run's docs/s is printed",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat needs a count of 1 or more")
    if args.queries_only:
        if args.keep is None:
            parser.error("--queries-only needs --keep, the folder of an earlier run")
        print(
            "| docs | query p50 / p95 / p99 ms (newssearch, facets) | first facet query | bare Whoosh p50 / p95 / p99 ms |"
        )
        print("|---|---|---|---|")
        for n in args.docs:
            corpus = args.keep / f"corpus-{n}.jsonl"
            full_ms, bare_ms, cold_ms = run_queries(
                args.keep / f"full-{n}", args.keep / f"bare-{n}", query_mix(corpus)
            )
            print(
                f"| {n:,} | {percentiles(full_ms)} | {cold_ms:,.0f} ms | {percentiles(bare_ms)} |",
                flush=True,
            )
        return 0
    if not (DATA / "corpus" / "headlines.jsonl.gz").exists():
        print(f"shared data not found in {DATA}", file=sys.stderr)
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        "| docs | index | docs/s | ratio | size MB | peak MB: PSS (RSS sum) | query p50 / p95 / p99 ms | first facet query | unchanged rerun | + 1,000 new |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    runs: list[str] = []  # with --repeat: every build's docs/s, printed after the table
    try:
        for n in args.docs:
            corpus = work / f"corpus-{n}.jsonl"
            write_corpus(corpus, n)
            # new articles: the next headlines, or (past the last one) the first ones under new ids
            extra = corpus.with_name(corpus.stem + "-extra.jsonl")
            write_corpus(extra, 1000, skip=n) if n + 1000 <= HEADLINES else write_corpus(
                extra, 1000, prefix="new-"
            )
            full_dir, bare_dir = work / f"full-{n}", work / f"bare-{n}"
            full_rates, bare_rates = [], []
            for run in range(args.repeat):
                if run:  # every build from scratch
                    shutil.rmtree(full_dir, ignore_errors=True)
                    shutil.rmtree(bare_dir, ignore_errors=True)
                full = in_process(build_pipeline, corpus, full_dir)
                full_rates.append(full["docs"] / full["seconds"])
                if not args.pipeline_only:
                    bare = in_process(build_bare, corpus, bare_dir)
                    bare_rates.append(bare["docs"] / bare["seconds"])
            full_rate = statistics.median(full_rates)
            runs.append(
                f"{n:,} docs, docs/s run by run: newssearch {', '.join(f'{r:,.0f}' for r in full_rates)}"
                + (
                    f"; bare Whoosh {', '.join(f'{r:,.0f}' for r in bare_rates)}"
                    if bare_rates
                    else ""
                )
            )
            memory = f"{full['pss_mb']:,.0f} ({full['maxrss_mb']:,.0f})"
            tail = (
                f"{full['rerun_seconds']:.1f} s = {full['rerun_seconds'] / full['seconds']:.0%} | "
                f"{full['add_seconds']:.1f} s ({full['added']:,} added) |"
            )
            if args.pipeline_only:
                print(
                    f"| {n:,} | newssearch (full pipeline) | {full_rate:,.0f} | | {folder_mb(full_dir):,.0f} | "
                    f"{memory} | | | {tail}",
                    flush=True,
                )
                continue
            full_ms, bare_ms, cold_ms = run_queries(full_dir, bare_dir, query_mix(corpus))
            bare_rate = statistics.median(bare_rates)
            print(
                f"| {n:,} | newssearch (full pipeline, facets) | {full_rate:,.0f} | {full_rate / bare_rate:.2f} | "
                f"{folder_mb(full_dir):,.0f} | {memory} | {percentiles(full_ms)} | {cold_ms:,.0f} ms | {tail}",
                flush=True,
            )
            print(
                f"| {n:,} | bare Whoosh (no facets) | {bare_rate:,.0f} | 1.00 | {folder_mb(bare_dir):,.0f} | "
                f"{bare['maxrss_mb']:,.0f} | {percentiles(bare_ms)} | | | |",
                flush=True,
            )
        if args.repeat > 1:
            print("\n" + "\n".join(f"- {line}" for line in runs))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
