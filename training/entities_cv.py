"""Compare entity-tagger settings on GermEval folds (and the news sample's looked-at half).

    python training/entities_cv.py --folds 0 1 --config c1=0.02,c2=0.05 --config mode=outer

Each ``--config`` is trained once per fold (the model sees the other GermEval sentences only) and
scored at the tagger level (GermEval's tokens, exact span + label over PER/LOC/ORG) at each
``--threshold``, and with one cut-off per label chosen on the other folds' held-out marginals. The
news sample's odd half ("hold") is printed as a check only, never used to choose.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_entities as te
from newssearch.enrich import entities as ent


def parse_config(text: str) -> dict:
    """``c1=0.02,c2=0.05,max_iterations=200`` -> CRFsuite parameters over the defaults."""
    out: dict[str, object] = dict(te.PARAMS)
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key == "mode":
            out[key] = value
            continue
        out[key] = type(te.PARAMS.get(key, 1.0))(float(value)) if key in te.PARAMS else value
    return out


def spans_with_confidence(tagger: ent.Tagger, sents) -> list[list[tuple[int, int, str, float]]]:
    """Each sentence's spans with their least sure token's marginal (no cut-off, no name list)."""
    words = [[w for w, _ in s] for s in sents]
    emissions = tagger.emissions_many(words)
    decoded = tagger.model.decode(emissions)
    labels = tagger.model.labels
    out = []
    for ws, (ids, marginals) in zip(words, decoded, strict=False):
        tags = [labels[i] for i in ids]
        out.append(
            [
                (a, b, label, float(marginals[a:b].min()))
                for a, b, label in ent.split_at_dashes(ws, ent.bio_spans(tags))
            ]
        )
    return out


def cut(tagger, sents, found, cutoffs: dict[str, float]) -> list[set]:
    """Spans over each label's cut-off, then the name list, as ``Tagger.tag_many`` does."""
    out = []
    for sent, spans in zip(sents, found, strict=False):
        kept = {(a, b, lab) for a, b, lab, m in spans if m >= cutoffs[lab]}
        if tagger.featurizer.lexicon.names:
            tagger._known_names([w for w, _ in sent], kept)
        out.append(kept)
    return out


def line(name: str, result) -> str:
    return f"{name}: " + "  ".join(
        f"{k} P {p:.3f} R {r:.3f} F1 {f:.3f}" for k, (p, r, f, n) in result.items()
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--config", action="append", default=[], help="k=v,... CRF parameters")
    parser.add_argument("--threshold", type=float, nargs="+", default=[0.0, 0.5, 0.55, 0.6])
    parser.add_argument("--lexicon-file", type=Path, default=te.OUT / ent.LEXICON_RESOURCE)
    parser.add_argument("--tag", default="cv", help="model file names in training/cache")
    args = parser.parse_args()
    base = ent.Lexicon.load(args.lexicon_file)
    news = te.news_parts()
    te.CACHE.mkdir(exist_ok=True)
    for config in args.config or [""]:
        params = parse_config(config)
        mode = params.pop("mode", te.MODE)
        found: dict[int, dict[str, tuple]] = {}
        for fold in args.folds:
            train_sents, held = te.split(fold)
            lexicon = copy.copy(base)
            lexicon.names = te.known_names(train_sents)
            path = te.CACHE / f"{args.tag}-{config.replace(',', '_') or 'default'}-f{fold}.crfsuite"
            t = time.time()
            if not path.exists():
                te.train(train_sents, lexicon, path, mode, params)
            tagger = ent.Tagger(path, lexicon)
            sets = {"germeval": held, **{"news-" + k: v for k, v in news.items()}}
            found[fold] = {
                k: (s, spans_with_confidence(tagger, s), tagger) for k, s in sets.items()
            }
            print(f"[{config or 'default'}] fold {fold}: trained in {time.time() - t:.0f} s")
            for name, (sents, spans, tg) in found[fold].items():
                for th in args.threshold:
                    pred = cut(tg, sents, spans, dict.fromkeys(ent.LABELS, th))
                    print("  " + line(f"{name} t={th}", te.score(sents, pred)))
        # per-label cut-offs: chosen on the other folds' GermEval sentences (F1 of that label)
        grid = [0.0, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7]
        for fold in args.folds:
            others = [f for f in args.folds if f != fold]
            if not others:
                continue
            chosen = {}
            for label in ent.LABELS:
                best: tuple[float, float] = (-1.0, 0.0)
                for th in grid:
                    f1 = 0.0
                    for o in others:
                        sents, spans, tg = found[o]["germeval"]
                        cutoffs = dict.fromkeys(ent.LABELS, 0.55) | {label: th}
                        f1 += te.score(sents, cut(tg, sents, spans, cutoffs))[label][2]
                    if f1 > best[0] + 1e-9:
                        best = (f1, th)
                chosen[label] = best[1]
            print(
                f"[{config or 'default'}] fold {fold}: per-label cut-offs from {others}: {chosen}"
            )
            for name, (sents, spans, tg) in found[fold].items():
                print(
                    "  " + line(f"{name} per-label", te.score(sents, cut(tg, sents, spans, chosen)))
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
