"""Query latency with facets over the gnad + SmartData index: mean, p50 and p95 per query.

Runs the known-item queries and a fixed sample of qam_train's web queries (typed questions)
through ``NewsSearch.search`` with every facet counted, after one warm-up pass.

    python bench/query_latency.py --keep /tmp/lat     # builds the index there once, then reuses it
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import relevance
from newssearch import AnalysisConfig, Config, NewsSearch

FACETS = ("person", "org", "place", "topic", "source", "date")


def queries() -> list[str]:
    """The 200 known-item queries and every 10th qam query (439)."""
    known = [q["query"] for q in relevance.known_item_set().queries]
    return known + [q["query"] for q in relevance.qam_set().queries[::10]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build/reuse the index here")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = (args.keep or Path(tmp)) / "gnad"
        if not (folder / "DONE").exists():
            ns, _ = relevance.build(AnalysisConfig(), folder)  # with sections and entities
            ns.close()
            (folder / "DONE").write_text("built\n")
        texts = queries()
        with NewsSearch(folder, Config(index=folder)) as ns:
            for text in texts:  # warm-up: caches, the stemmer, the decompounder
                ns.search(text, facets=FACETS)
            times = []
            for _ in range(args.rounds):
                for text in texts:
                    started = time.perf_counter()
                    ns.search(text, facets=FACETS)
                    times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95)]
    print(
        f"{len(texts)} queries x {args.rounds}, facets {','.join(FACETS)}: "
        f"mean {statistics.mean(times):.1f} ms, p50 {statistics.median(times):.1f} ms, "
        f"p95 {p95:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
