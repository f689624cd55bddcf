"""Score ``newssearch.extract_entities`` on GermEval-format sentences (exact span + label).

    python bench/entities.py FILE.tsv [FILE.tsv ...]       # the shipped model on any GermEval file
    python bench/entities.py --held-out --model training/cache/held-out.crfsuite
                                    # held-out sentences, a model that never saw them

Each sentence's tokens are joined with spaces and passed to the public ``extract_entities``
(tokenizer, sentence splitter, tagger, confidence cut-off); a predicted mention counts when its
character span and label equal a gold span's (outer annotation; OTH and -deriv/-part are not
entities here). The shipped model is trained on all of GermEval dev + public test, held-out
sentences included, so held-out scores of record use ``--model training/cache/held-out.crfsuite``,
the model ``training/train_entities.py`` trains without them (same features and settings).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

from newssearch.enrich import entities  # noqa: E402
from train_entities import known_names, precision_recall, read_germeval, split  # noqa: E402

LABELS = ("PER", "LOC", "ORG")


def gold_spans(tokens: list[tuple[str, str]]) -> tuple[str, set[tuple[int, int, str]]]:
    """The sentence as text and its gold (start, end, label) character spans."""
    offsets, pos = [], 0
    for word, _ in tokens:
        offsets.append((pos, pos + len(word)))
        pos += len(word) + 1
    text = " ".join(w for w, _ in tokens)
    tags = [t for _, t in tokens]
    return text, {
        (offsets[a][0], offsets[b - 1][1], label) for a, b, label in entities.bio_spans(tags)
    }


def part(sentences: list, which: str) -> list:
    """All sentences, the even ones ("tune": looked at for errors) or the odd ones ("hold")."""
    return {"all": sentences, "tune": sentences[0::2], "hold": sentences[1::2]}[which]


def evaluate(sentences, extract) -> tuple[dict, float, int]:
    """Per-label (P, R, F1, gold count), seconds, tokens."""
    tokens = sum(len(s) for s in sentences)
    started = time.perf_counter()
    pairs = []
    for sent in sentences:
        text, gold = gold_spans(sent)
        pairs.append((gold, {(e.start, e.end, e.label) for e in extract(text)}))
    seconds = time.perf_counter() - started
    return precision_recall(pairs, LABELS), seconds, tokens


def news_sentences(limit: int) -> list[list[str]]:
    """Token lists of the sentences of the first ``limit`` gnad articles (shared data)."""
    out: list[list[str]] = []
    path = ROOT.parent / "shared" / "data" / "corpus" / "gnad.jsonl"
    with path.open(encoding="utf-8") as fh:
        for line, _ in zip(fh, range(limit), strict=False):
            text = json.loads(line)["text"]
            spans = entities.tokenize(text)
            out += [[text[a:b] for a, b in sent] for sent in entities.sentences(text, spans)]
    return out


def speed(pairs: list[str], rounds: int, articles: int) -> None:
    """Tagging throughput (sentences/s) of each MODEL:LEXICON pair, run alternately, each run with
    a new tagger (empty word cache), as the indexer's workers start."""
    sentences = news_sentences(articles)
    runs: dict[str, list[float]] = {pair: [] for pair in pairs}
    loaded = {}
    for pair in pairs:
        model, _, lexicon = pair.partition(":")
        loaded[pair] = (Path(model), entities.Lexicon.load(Path(lexicon)) if lexicon else None)
    for _ in range(rounds):
        for pair in pairs:
            model, lexicon = loaded[pair]
            tagger = entities.Tagger(model, lexicon or entities.Lexicon.load(), entities.THRESHOLD)
            started = time.perf_counter()
            tagger.tag_many(sentences)
            runs[pair].append(len(sentences) / (time.perf_counter() - started))
    print(f"{len(sentences):,} sentences of {articles} gnad articles, {rounds} alternating rounds")
    for pair, values in runs.items():
        print(f"{pair}: " + " ".join(f"{v:,.0f}" for v in values) + " sentences/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="GermEval 2014 .tsv files")
    parser.add_argument(
        "--held-out", action="store_true", help="the training script's held-out sentences"
    )
    parser.add_argument(
        "--fold", type=int, default=0, help="with --held-out: which fifth (as train_entities.py)"
    )
    parser.add_argument("--model", type=Path, help="a CRF model file instead of the shipped one")
    parser.add_argument(
        "--lexicon",
        type=Path,
        help="a lexicon (entities_de.tsv.gz format) instead of the shipped one",
    )
    parser.add_argument(
        "--part",
        choices=("all", "tune", "hold"),
        default="all",
        help="of the FILES' sentences: all, the even ones (looked at) or the odd ones (never)",
    )
    parser.add_argument(
        "--threshold", type=float, default=entities.THRESHOLD, help="span confidence cut-off"
    )
    parser.add_argument(
        "--speed",
        nargs="+",
        metavar="MODEL:LEXICON",
        help="instead of scores: tagging throughput of these models, alternately",
    )
    parser.add_argument("--rounds", type=int, default=3, help="with --speed: runs of each model")
    parser.add_argument("--articles", type=int, default=400, help="with --speed: gnad articles")
    args = parser.parse_args(argv)
    if args.speed:
        speed(args.speed, args.rounds, args.articles)
        return 0
    sentences = [s for f in args.files for s in part(read_germeval(f), args.part)]
    if args.held_out:
        sentences += split(args.fold)[1]
    if not sentences:
        parser.error("give GermEval .tsv files or --held-out")
    shipped = entities.entity_extractor()
    model = args.model or shipped.tagger.model_path
    lexicon = (
        entities.Lexicon.load(args.lexicon) if args.lexicon else shipped.tagger.featurizer.lexicon
    )
    if args.held_out:
        # the shipped name list comes from all GermEval sentences: use the training split's only
        lexicon = copy.copy(lexicon)
        lexicon.names = known_names(split(args.fold)[0])
    extractor = entities.EntityExtractor(
        entities.Tagger(model, lexicon, args.threshold), shipped.normalizer
    )
    extractor.extract("Warm-up lädt das Modell.")
    result, seconds, tokens = evaluate(sentences, extractor.extract)
    print(f"model {model}, threshold {args.threshold}")
    print(f"{len(sentences):,} sentences, {tokens:,} tokens, {tokens / seconds:,.0f} tokens/s")
    print("| label | P | R | F1 | gold |")
    print("|---|---|---|---|---|")
    for label, (p, r, f, n) in result.items():
        print(f"| {label} | {p:.3f} | {r:.3f} | {f:.3f} | {n} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
