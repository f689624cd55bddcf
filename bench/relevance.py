"""Relevance of newssearch against a plain BM25 baseline on every shared query set, in one run.

The baseline is what a user could set up in ten lines: ``bm25s`` (k1 1.5, b 0.75, Lucene
variant) over title + text as one field, PyStemmer's German Snowball stemmer and bm25s's German
stop list. newssearch runs through its public API (``NewsSearch.index`` / ``search``) with the
defaults of ``config.yaml``.

Each set is split by a fixed rule into a TUNE part and a HELD-OUT part: a query is held out when
the SHA-1 of its split key ends in a digit that is 0 mod 3 (the key is the target article for
the known-item set, whose kw and nl queries share a target, and the qid elsewhere). Ranking
choices are made on the TUNE parts only; the HELD-OUT parts are reported beside them.

    python bench/relevance.py                    # every set, baseline vs newssearch, both parts
    python bench/relevance.py --sets known_item  # one set
    python bench/relevance.py --keep /tmp/rel    # reuse the newssearch indexes built there
    python bench/relevance.py --variants         # also the known-item analysis/query variants
    python bench/relevance.py --append "?"       # every query ending in a question mark

Needs the ``bench`` extra (``pip install -e .[bench]``: bm25s, PyStemmer).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from newssearch import AnalysisConfig, Config, EnrichConfig, NewsSearch, SearchConfig

DATA = Path(
    os.environ.get(
        "NEWSSEARCH_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)
PARTS = ("tune", "held-out")

ANALYSIS_VARIANTS: dict[str, AnalysisConfig] = {
    "no stemming": AnalysisConfig(stemmer="none", decompound=False),
    "snowball": AnalysisConfig(decompound=False),
    "snowball + decompounding": AnalysisConfig(),
    "no stemming + decompounding": AnalysisConfig(stemmer="none"),
    "cistem + decompounding": AnalysisConfig(stemmer="cistem"),
    "sb+dc, no stop words": AnalysisConfig(stopwords="none"),
}
DEFAULT_ANALYSIS = "snowball + decompounding"
DEFAULT = "default"
SEARCH_VARIANTS: dict[str, SearchConfig] = {
    DEFAULT: SearchConfig(),
    "AND": SearchConfig(operator="and"),
    "plain OR": SearchConfig(coord=0.0),
    "B 0.75": SearchConfig(bm25_b=0.75),
    "B 0.3": SearchConfig(bm25_b=0.3),
    "K1 1.6": SearchConfig(bm25_k1=1.6),
}


@dataclasses.dataclass
class QuerySet:
    """Queries with the ids of their relevant documents, over a corpus of files."""

    name: str
    files: list[Path]
    queries: list[dict]  # qid, query, targets (set of ids), part ("tune" / "held-out"), kind


def part_of(key: str) -> str:
    """The fixed split: held out when the key's SHA-1 ends in a hex digit that is 0 mod 3."""
    return "held-out" if int(hashlib.sha1(key.encode()).hexdigest()[-1], 16) % 3 == 0 else "tune"


def load_queries(path: Path) -> list[dict]:
    """The known-item queries: qid, query, kind, target."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def known_item_set() -> QuerySet:
    """queries/known_item_dev.jsonl over gnad + SmartData, split by target article."""
    queries = [
        {**q, "targets": {q["target"]}, "part": part_of(q["target"])}
        for q in load_queries(DATA / "queries" / "known_item_dev.jsonl")
    ]
    files = [DATA / "corpus" / "gnad.jsonl", DATA / "ner" / "smartdata_train.jsonl"]
    return QuerySet("known_item", files, queries)


def qam_set() -> QuerySet:
    """queries/qam_train: real web queries over passages, split by qid."""
    folder = DATA / "queries" / "qam_train"
    targets: dict[str, set[str]] = {}
    with open(folder / "qrels.tsv", encoding="utf-8") as fh:
        for line in fh:
            qid, doc, *rest = line.rstrip("\n").split("\t")
            if not rest or rest[0] != "0":
                targets.setdefault(qid, set()).add(doc)
    queries = [
        {**q, "targets": targets[q["qid"]], "part": part_of(q["qid"]), "kind": "web"}
        for q in load_queries(folder / "queries.jsonl")
        if q["qid"] in targets
    ]
    return QuerySet("qam", [folder / "corpus.jsonl"], queries)


SETS: dict[str, Callable[[], QuerySet]] = {"known_item": known_item_set, "qam": qam_set}


def read_docs(files: Iterable[Path]) -> tuple[list[str], list[str]]:
    """Ids and title + text of every record, for the baseline."""
    ids, texts = [], []
    for path in files:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    r = json.loads(line)
                    ids.append(str(r["id"]))
                    texts.append(f"{r.get('title') or ''}\n{r['text']}")
    return ids, texts


def baseline_rankings(qs: QuerySet) -> list[list[str]]:
    """The top 10 ids of plain BM25 (bm25s, PyStemmer German, German stop list) per query."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("german")
    ids, texts = read_docs(qs.files)
    tokens = bm25s.tokenize(texts, stopwords="de", stemmer=stemmer.stemWords, show_progress=False)
    retriever = bm25s.BM25(k1=1.5, b=0.75)
    retriever.index(tokens, show_progress=False)
    known = set(tokens.vocab)
    rankings = []
    for q in qs.queries:
        words = bm25s.tokenize(
            [q["query"]],
            stopwords="de",
            stemmer=stemmer.stemWords,
            return_ids=False,
            show_progress=False,
        )[0]
        words = [w for w in words if w in known]
        if not words:
            rankings.append([])
            continue
        docs, scores = retriever.retrieve([words], k=10, show_progress=False, n_threads=1)
        rankings.append([ids[d] for d, s in zip(docs[0], scores[0], strict=True) if s > 0])
    return rankings


def newssearch_rankings(ns: NewsSearch, qs: QuerySet) -> tuple[list[list[str]], float]:
    """The top 10 ids of newssearch per query, and the mean milliseconds per query."""
    started = time.perf_counter()
    rankings = [[h.id for h in ns.search(q["query"], limit=10).hits] for q in qs.queries]
    return rankings, (time.perf_counter() - started) * 1000 / max(1, len(qs.queries))


def scores(qs: QuerySet, rankings: list[list[str]], key: str = "part") -> dict:
    """MRR@10 and Success@10 per value of ``key`` (part or kind) and overall ("all")."""
    rrs: dict[str, list[float]] = {}
    for q, ranked in zip(qs.queries, rankings, strict=True):
        rr = next((1.0 / i for i, d in enumerate(ranked[:10], 1) if d in q["targets"]), 0.0)
        for k in ("all", q.get(key, "?")):
            rrs.setdefault(k, []).append(rr)
    return {
        k: (sum(v) / len(v), sum(1 for r in v if r > 0) / len(v), len(v)) for k, v in rrs.items()
    }


def build(
    analysis: AnalysisConfig,
    workdir: Path,
    enrich: EnrichConfig | None = None,
    files: list[Path] | None = None,
    search: SearchConfig | None = None,
) -> tuple[NewsSearch, float]:
    """Index the files (default: the known-item corpus) with these settings; API and docs/s."""
    config = Config(
        index=workdir,
        analysis=analysis,
        enrich=enrich or EnrichConfig(),
        search=search or SearchConfig(),
    )
    ns = NewsSearch(workdir, config)
    report = ns.index(
        files or [DATA / "corpus" / "gnad.jsonl", DATA / "ner" / "smartdata_train.jsonl"]
    )
    return ns, report.read / max(report.seconds, 1e-9)


def evaluate(ns: NewsSearch, queries: list[dict]) -> dict[str, tuple[float, float, int]]:
    """MRR@10 and Success@10 of known-item queries per kind and overall; "ms": ms per query."""
    qs = QuerySet("", [], [{**q, "targets": {q["target"]}} for q in queries])
    rankings, ms = newssearch_rankings(ns, qs)
    result = scores(qs, rankings, key="kind")
    result["ms"] = (ms, 0.0, len(queries))
    return result


def open_index(qs: QuerySet, keep: Path | None, tmp: Path, search: SearchConfig) -> NewsSearch:
    """newssearch over the set's files: reused from ``keep`` when built there before."""
    folder = (keep or tmp) / qs.name
    # sections and entities do not take part in ranking: skipped to build faster
    enrich = EnrichConfig(sections=False, entities=False)
    if keep is not None and (folder / "DONE").exists():
        config = Config(index=folder, enrich=enrich, search=search)
        return NewsSearch(folder, config)
    if folder.exists():
        shutil.rmtree(folder)
    ns, _ = build(AnalysisConfig(), folder, enrich=enrich, files=qs.files, search=search)
    (folder / "DONE").write_text("built\n")
    return ns


def compare(names: list[str], keep: Path | None, search: SearchConfig, append: str = "") -> int:
    """The main table: per set and part, baseline and newssearch MRR@10 / S@10 and the ratio."""
    print(
        "| set | part | queries | BM25 MRR@10 | newssearch MRR@10 | ratio | BM25 S@10 "
        "| newssearch S@10 | goal | ms/query |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    met = True
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            qs = SETS[name]()
            for q in qs.queries:
                q["query"] += append
            base = scores(qs, baseline_rankings(qs))
            with open_index(qs, keep, Path(tmp), search) as ns:
                ranked, ms = newssearch_rankings(ns, qs)
            ours = scores(qs, ranked)
            for part in (*PARTS, "all"):
                b_mrr, b_s, n = base[part]
                o_mrr, o_s, _ = ours[part]
                goal = b_mrr * 1.05 if b_mrr < 0.90 else b_mrr + 0.01
                ok = o_mrr >= goal
                met &= ok or part == "all"
                print(
                    f"| {name} | {part} | {n} | {b_mrr:.3f} | {o_mrr:.3f} | {o_mrr / b_mrr:.3f} "
                    f"| {b_s:.3f} | {o_s:.3f} | {goal:.3f} {'met' if ok else 'MISSED'} "
                    f"| {ms:.1f} |",
                    flush=True,
                )
    print(f"goal (≥1.05× baseline, or +0.01 where it is ≥0.90) on every part: {met}")
    return 0


def variants() -> int:
    """The known-item analysis and query variants (one index per analysis variant)."""
    qs = known_item_set()
    print("| analysis | query | MRR@10 tune | MRR@10 held-out | S@10 all |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for a_name, analysis in ANALYSIS_VARIANTS.items():
            folder = Path(tmp) / a_name.replace(" ", "_").replace(",", "").replace("+", "")
            ns, _ = build(analysis, folder, enrich=EnrichConfig(sections=False, entities=False))
            with ns:
                for s_name, search in SEARCH_VARIANTS.items():
                    if a_name != DEFAULT_ANALYSIS and s_name != DEFAULT:
                        continue  # query variants are compared on the default analysis
                    ns.close()  # the searcher's weighting comes from the search config
                    ns.config = dataclasses.replace(ns.config, search=search)
                    s = scores(qs, newssearch_rankings(ns, qs)[0])
                    print(
                        f"| {a_name} | {s_name} | {s['tune'][0]:.3f} | {s['held-out'][0]:.3f} "
                        f"| {s['all'][1]:.3f} |",
                        flush=True,
                    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    parser.add_argument("--keep", type=Path, help="build/reuse the newssearch indexes here")
    parser.add_argument("--variants", action="store_true", help="also the known-item variants")
    parser.add_argument(
        "--append", default="", help='text added to every query, e.g. "?" to ask questions'
    )
    args = parser.parse_args(argv)
    if not (DATA / "corpus" / "gnad.jsonl").exists():
        print(f"shared data not found in {DATA} (set NEWSSEARCH_DATA)", file=sys.stderr)
        return 2
    compare(args.sets, args.keep, SearchConfig(), args.append)
    return variants() if args.variants else 0


if __name__ == "__main__":
    sys.exit(main())
