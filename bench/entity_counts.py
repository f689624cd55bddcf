"""Count the names a tagger finds on the shared news text (no gold labels: counts, not accuracy).

    python bench/entity_counts.py --gnad
    python bench/entity_counts.py --headlines 20000 --model M.crfsuite --lexicon L.tsv.gz

Runs the tagger (the shipped one, or ``--model``/``--lexicon``) over gnad's articles or over every
15th shared headline, and prints the (article, name) pairs per label and the most frequent names,
as the index would count them (``extract_many`` and ``distinct`` per article).
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from pathlib import Path

from newssearch.enrich import entities

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpus"


def texts(gnad: bool, headlines: int) -> list[str]:
    """gnad's article texts, or ``headlines`` titles (every 15th of the shared headlines)."""
    if gnad:
        with (DATA / "gnad.jsonl").open(encoding="utf-8") as fh:
            return [json.loads(line)["text"] for line in fh]
    out: list[str] = []
    with gzip.open(DATA / "headlines.jsonl.gz", "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % 15 == 0:
                out.append(json.loads(line).get("title") or "")
            if len(out) >= headlines:
                break
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gnad", action="store_true", help="gnad's articles (else headlines)")
    parser.add_argument("--headlines", type=int, default=20_000, help="how many headlines")
    parser.add_argument("--model", type=Path, help="a CRF model instead of the shipped one")
    parser.add_argument("--lexicon", type=Path, help="a lexicon instead of the shipped one")
    parser.add_argument("--top", type=int, default=25, help="names shown per label")
    args = parser.parse_args(argv)
    shipped = entities.entity_extractor()
    lexicon = entities.Lexicon.load(args.lexicon) if args.lexicon else shipped.normalizer.lexicon
    tagger = entities.Tagger(args.model or shipped.tagger.model_path, lexicon, entities.THRESHOLD)
    extractor = entities.EntityExtractor(tagger, entities.Normalizer(lexicon))
    corpus = texts(args.gnad, args.headlines)
    counts = {label: Counter[str]() for label in entities.LABELS}
    for found in extractor.extract_many(corpus):
        for label, name in entities.distinct(found):
            counts[label][name] += 1
    pairs = {label: sum(c.values()) for label, c in counts.items()}
    print(f"{len(corpus):,} texts; (text, name) pairs: {pairs}")
    for label, c in counts.items():
        print(label, ", ".join(f"{name} {n}" for name, n in c.most_common(args.top)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
