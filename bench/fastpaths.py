"""What each Whoosh fast path buys: the same work with it on and with plain Whoosh, alternately.

    python bench/fastpaths.py --docs 10000 --repeat 3

- **segment writer** (``indexing.fast_writer``): a full pipeline build of the scale corpus
  (headlines + gnad bodies, see bench/scale.py), with the fused writer and with Whoosh's own,
  alternately; the run's seconds and docs/s (median of the repeats).
- **commit helper** (part of the fast writer): the same build with the forked helper of the
  last commit turned off (its posting threshold set out of reach), default workers otherwise.
- **vector scorer** (``search.fast``): scale.py's 100-query mix with six facets on the fast build,
  with the numpy scorer and with Whoosh's collectors; p50/p95/p99 in ms.

Each build runs in its own process. Answers are the same either way (tests/test_whoosh_fast.py);
this measures only time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import FACETS, in_process, percentiles, query_mix, write_corpus


def _build(corpus: Path, index_dir: Path, fast: bool, helper: bool, queue) -> None:
    from newssearch import Config, IndexingConfig, NewsSearch
    from newssearch._whoosh_fast import segments

    if not helper:
        segments.HELPER_MIN = 1 << 62  # this build process only: no commit is large enough

    indexing = IndexingConfig(fast_writer=fast)
    config = Config(index=index_dir, indexing=indexing)
    with NewsSearch(index_dir, config) as ns:
        report = ns.index([corpus])
    queue.put({"docs": report.read, "seconds": report.seconds})


def _queries(index_dir: Path, queries: list[dict], fast: bool) -> list[float]:
    from newssearch import Config, NewsSearch, QueryError, SearchConfig

    config = Config(index=index_dir, search=SearchConfig(fast=fast))
    out = []
    with NewsSearch(index_dir, config) as ns:
        ns.search("Warm-up", facets=FACETS)
        for q in queries:
            filters = {"source": [q["source"]]} if q["source"] else None
            started = time.perf_counter()
            try:
                ns.search(q["text"], facets=FACETS, filters=filters)
            except QueryError:
                continue
            out.append((time.perf_counter() - started) * 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    """Print one markdown table per corpus size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[10_000])
    parser.add_argument("--repeat", type=int, default=3, help="builds per variant (alternating)")
    args = parser.parse_args(argv)
    for n in args.docs:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            corpus = folder / "corpus.jsonl"
            write_corpus(corpus, n)
            variants = {
                "fast writer": (True, True),
                "plain Whoosh writer": (False, False),
                "fast writer without the commit helper": (True, False),
            }
            seconds: dict[str, list[float]] = {name: [] for name in variants}
            for k in range(args.repeat):
                for name, (fast, helper) in variants.items():
                    index_dir = folder / f"ix-{k}-{len(seconds[name])}-{fast}-{helper}"
                    result = in_process(_build, corpus, index_dir, fast, helper)
                    seconds[name].append(result["seconds"])
            print(f"\n## {n:,} articles, {args.repeat} alternating builds each\n")
            print("| writer | median s | docs/s | runs (s) |")
            print("|---|---|---|---|")
            for name, runs in seconds.items():
                med = statistics.median(runs)
                shown = ", ".join(f"{s:.1f}" for s in runs)
                print(f"| {name} | {med:.1f} | {n / med:,.0f} | {shown} |")
            index_dir = folder / "ix-0-0-True-True"
            queries = query_mix(corpus)
            timings: dict[str, list[float]] = {"numpy scorer": [], "Whoosh collectors": []}
            for _ in range(args.repeat):
                timings["numpy scorer"] += _queries(index_dir, queries, True)
                timings["Whoosh collectors"] += _queries(index_dir, queries, False)
            print("\n| search path | queries | p50 / p95 / p99 ms (six facets) |")
            print("|---|---|---|")
            for name, ms in timings.items():
                print(f"| {name} | {len(ms)} | {percentiles(ms)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
