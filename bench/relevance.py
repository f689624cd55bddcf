"""Known-item relevance of newssearch's analysis and query variants.

Indexes ../shared/data/corpus/gnad.jsonl + ner/smartdata_train.jsonl through the public API once
per analysis variant, runs the 200 known-item queries (queries/known_item_dev.jsonl) under each
query variant, and prints MRR@10 and Success@10, overall and per query kind (kw, nl).

    python bench/relevance.py                 # the table of all variants
    python bench/relevance.py --default-only  # just the configuration in config.yaml's defaults
    python bench/relevance.py --queries other.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from newssearch import AnalysisConfig, Config, EnrichConfig, NewsSearch, SearchConfig

DATA = Path(
    os.environ.get(
        "NEWSSEARCH_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)

ANALYSIS_VARIANTS: dict[str, AnalysisConfig] = {
    "no stemming": AnalysisConfig(stemmer="none", decompound=False),
    "snowball": AnalysisConfig(decompound=False),
    "snowball + decompounding": AnalysisConfig(),
    "no stemming + decompounding": AnalysisConfig(stemmer="none"),
    "cistem + decompounding": AnalysisConfig(stemmer="cistem"),
    "sb+dc, no stop words": AnalysisConfig(stopwords="none"),
    "sb+dc, umlauts unfolded": AnalysisConfig(umlauts="none"),
    "sb+dc, hyphens kept whole": AnalysisConfig(hyphens=False),
}
DEFAULT_ANALYSIS = "snowball + decompounding"
DEFAULT = "OR+coord 0.9, B 0.4 (default)"
SEARCH_VARIANTS: dict[str, SearchConfig] = {
    DEFAULT: SearchConfig(),
    "AND": SearchConfig(operator="and"),
    "plain OR": SearchConfig(coord=0.0),
    "OR+coord 0.5": SearchConfig(coord=0.5),
    "OR+coord 0.9, B 0.75 (Whoosh default)": SearchConfig(bm25_b=0.75),
    "OR+coord 0.9, B 0.3": SearchConfig(bm25_b=0.3),
    "OR+coord 0.9, B 0.5": SearchConfig(bm25_b=0.5),
    "OR+coord 0.9, B 0.4, K1 1.6": SearchConfig(bm25_k1=1.6),
}


def load_queries(path: Path) -> list[dict]:
    """The known-item queries: qid, query, kind, target."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def evaluate(ns: NewsSearch, queries: list[dict]) -> dict[str, tuple[float, float, int]]:
    """MRR@10 and Success@10 per kind and overall ("all"); "ms" holds mean milliseconds per query."""
    ranks: dict[str, list[float]] = {}
    started = time.perf_counter()
    for q in queries:
        hits = ns.search(q["query"], limit=10).hits
        rr = next((1.0 / h.rank for h in hits if h.id == q["target"]), 0.0)
        for key in ("all", q.get("kind", "?")):
            ranks.setdefault(key, []).append(rr)
    scores = {
        k: (sum(v) / len(v), sum(1 for r in v if r > 0) / len(v), len(v)) for k, v in ranks.items()
    }
    scores["ms"] = ((time.perf_counter() - started) * 1000 / len(queries), 0.0, len(queries))
    return scores


def build(
    analysis: AnalysisConfig,
    workdir: Path,
    enrich: EnrichConfig | None = None,
    files: list[Path] | None = None,
) -> tuple[NewsSearch, float]:
    """Index the benchmark corpus with these analysis settings; returns the API and docs/s."""
    config = Config(index=workdir, analysis=analysis, enrich=enrich or EnrichConfig())
    ns = NewsSearch(workdir, config)
    report = ns.index(
        files or [DATA / "corpus" / "gnad.jsonl", DATA / "ner" / "smartdata_train.jsonl"]
    )
    return ns, report.read / report.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--default-only", action="store_true", help="measure only the default configuration"
    )
    parser.add_argument("--queries", type=Path, default=DATA / "queries" / "known_item_dev.jsonl")
    args = parser.parse_args(argv)
    if not (DATA / "corpus" / "gnad.jsonl").exists():
        print(f"shared data not found in {DATA} (set NEWSSEARCH_DATA)", file=sys.stderr)
        return 2
    queries = load_queries(args.queries)
    analyses = {DEFAULT_ANALYSIS: AnalysisConfig()} if args.default_only else ANALYSIS_VARIANTS
    searches = {DEFAULT: SearchConfig()} if args.default_only else SEARCH_VARIANTS
    kinds = sorted({q.get("kind", "?") for q in queries})
    header = (
        f"| {'analysis':<28} | {'query':<37} | {'MRR@10':>6} | {'S@10':>5} | "
        + " | ".join(f"MRR {k:<3}" for k in kinds)
        + " | records/s | ms/query |"
    )
    print(f"{len(queries)} queries from {args.queries}")
    print(header)
    print("|" + "|".join("-" * (len(c) + 0) for c in header.split("|")[1:-1]) + "|")
    with tempfile.TemporaryDirectory() as tmp:
        for a_name, analysis in analyses.items():
            ns, rate = build(analysis, Path(tmp) / a_name.replace(" ", "_").replace(",", ""))
            with ns:
                for s_name, search in searches.items():
                    if a_name != DEFAULT_ANALYSIS and s_name not in (
                        DEFAULT,
                        "OR+coord 0.9, B 0.75 (Whoosh default)",
                    ):
                        continue  # other search variants are compared on the default analysis
                    ns.close()  # the searcher's weighting comes from the search config
                    ns.config = dataclasses.replace(ns.config, search=search)
                    scores = evaluate(ns, queries)
                    mrr, success, _ = scores["all"]
                    per_kind = " | ".join(f"{scores[k][0]:>7.3f}" for k in kinds)
                    print(
                        f"| {a_name:<28} | {s_name:<37} | {mrr:>6.3f} | {success:>5.3f} | {per_kind} "
                        f"| {rate:>9.0f} | {scores['ms'][0]:>8.1f} |",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
