"""Indexing throughput of analysis and enrichment variants, measured in alternation (median of --runs).

    python bench/throughput.py            # snowball / + decompounding / + section classifier, 3 runs each

Uses ../shared/data/corpus/gnad.jsonl + ner/smartdata_train.jsonl through the public API. Run it on
an otherwise idle machine: it measures wall-clock records per second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from relevance import DATA, build

from newssearch import AnalysisConfig, EnrichConfig

NO_SECTIONS = EnrichConfig(sections=False)
VARIANTS = {
    "snowball": (AnalysisConfig(decompound=False), NO_SECTIONS),
    "snowball + decompounding": (AnalysisConfig(), NO_SECTIONS),
    "snowball + decompounding + section classifier (default)": (AnalysisConfig(), EnrichConfig()),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per variant (alternating)")
    args = parser.parse_args(argv)
    if not (DATA / "corpus" / "gnad.jsonl").exists():
        print(f"shared data not found in {DATA} (set NEWSSEARCH_DATA)", file=sys.stderr)
        return 2
    rates: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for name, (analysis, enrich) in VARIANTS.items():
                ns, rate = build(analysis, Path(tmp) / f"run{run}-{list(VARIANTS).index(name)}", enrich)
                ns.close()
                rates[name].append(rate)
    base = statistics.median(rates["snowball"])
    print("| variant | records/s (median) | runs | ratio |")
    print("|---|---|---|---|")
    for name, values in rates.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.0f} | {', '.join(f'{v:.0f}' for v in values)} | {med / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
