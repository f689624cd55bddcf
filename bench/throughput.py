"""Indexing throughput of analysis and enrichment variants, measured in alternation (median of --runs).

    python bench/throughput.py            # snowball / + decompounding / + section classifier / + entities
    python bench/throughput.py --gnad     # gnad.jsonl only (800 long articles)

Uses ../shared/data/corpus/gnad.jsonl + ner/smartdata_train.jsonl through the public API. Run it on
an otherwise idle machine: it measures wall-clock records per second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from newssearch import AnalysisConfig, EnrichConfig
from relevance import DATA, build

NO_ENRICHMENT = EnrichConfig(sections=False, entities=False)
VARIANTS = {
    "snowball": (AnalysisConfig(decompound=False), NO_ENRICHMENT),
    "snowball + decompounding": (AnalysisConfig(), NO_ENRICHMENT),
    "snowball + decompounding + section classifier": (
        AnalysisConfig(),
        EnrichConfig(entities=False),
    ),
    "snowball + decompounding + entities": (AnalysisConfig(), EnrichConfig(sections=False)),
    "snowball + decompounding + classifier + entities (default)": (
        AnalysisConfig(),
        EnrichConfig(),
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per variant (alternating)")
    parser.add_argument("--gnad", action="store_true", help="index gnad.jsonl only (long articles)")
    args = parser.parse_args(argv)
    files = [DATA / "corpus" / "gnad.jsonl"] if args.gnad else None
    if not (DATA / "corpus" / "gnad.jsonl").exists():
        print(f"shared data not found in {DATA} (set NEWSSEARCH_DATA)", file=sys.stderr)
        return 2
    rates: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for name, (analysis, enrich) in VARIANTS.items():
                ns, rate = build(
                    analysis, Path(tmp) / f"run{run}-{list(VARIANTS).index(name)}", enrich, files
                )
                ns.close()
                rates[name].append(rate)
    base = statistics.median(rates["snowball"])
    print("| variant | records/s (median) | runs | ratio |")
    print("|---|---|---|---|")
    for name, values in rates.items():
        med = statistics.median(values)
        print(
            f"| {name} | {med:.0f} | {', '.join(f'{v:.0f}' for v in values)} | {med / base:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
