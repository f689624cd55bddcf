"""Train the section classifier shipped in src/newssearch/data/sections_de.json.gz.

Model: a linear SVM (scikit-learn ``LinearSVC``, C=1) over two TF-IDF blocks (sublinear tf,
L2-normalised each): the index analyzer's terms (Snowball stems and compound parts, min_df 2)
and character 3–5-grams of each lowercased word (min_df 3). Trained on all of
``../shared/data/corpus/gnad.jsonl`` (800 labelled DER STANDARD articles).

The model is written as JSON: vocabularies, idf weights and the coefficients quantised to int8
per class (base64), so loading it never unpickles anything. The cross-validation below scores
exactly that exported form, evaluated by the package's own pure-Python classifier.

Rebuild and print 5-fold cross-validated accuracy, macro-F1, per-class scores and the confusion
matrix::

    pip install -e '.[train]'
    python training/train_sections.py                # CV (3 shuffles) + write the model
    python training/train_sections.py --cv-only      # numbers only
    python training/train_sections.py --variants     # the feature comparison in bench/sections-results.md
    python training/train_sections.py --short        # the short-text model (sentences of gnad)

The short-text model (``sections_short_de.json.gz``) classifies headline-only and other short
records: the same features and SVM, trained on the sentences of the gnad articles (each
labelled with its article's section, up to 300 characters), so that a headline-sized text
looks like what it was trained on. Its cut-offs per section are calibrated on headlines by
``bench/sections.py --calibrate`` (numbers only: no headline text goes into the model).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import re
import sys
from pathlib import Path

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from newssearch.enrich.sections import (
    MODEL_RESOURCE,
    SHORT_MODEL_RESOURCE,
    SectionClassifier,
    char_features,
    stem_features,
)

ROOT = Path(__file__).resolve().parents[1]
GNAD = ROOT.parent / "shared" / "data" / "corpus" / "gnad.jsonl"
OUT = ROOT / "src" / "newssearch" / "data" / MODEL_RESOURCE
SHORT_OUT = ROOT / "src" / "newssearch" / "data" / SHORT_MODEL_RESOURCE
#: sentence ends inside an article (before a capital or an opening quote)
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ\"„])")
#: the short-text model's SVM regularisation (C=0.5 beside C=1: fewer sections shown wrongly on
#: calibration headlines at the same coverage)
SHORT_C = 0.5
BLOCKS = (("stems", stem_features, 2), ("chars", char_features, 3))


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def fit(features: dict[str, list[list[str]]], labels: list[str], c: float = 1.0) -> dict:
    """Train on pre-computed feature lists; return the model as the JSON-ready dict."""
    vectorizers, matrices = [], []
    for name, _, min_df in BLOCKS:
        vec = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=min_df)
        matrices.append(vec.fit_transform(features[name]))
        vectorizers.append((name, vec))
    svm = LinearSVC(C=c).fit(hstack(matrices).tocsr(), labels)
    coef = svm.coef_  # classes x features
    model = {
        "format": 1,
        "labels": [str(x) for x in svm.classes_],
        "intercept": svm.intercept_.round(6).tolist(),
        "blocks": [],
    }
    start = 0
    for name, vec in vectorizers:
        vocab = vec.get_feature_names_out().tolist()
        block = coef[:, start : start + len(vocab)]
        start += len(vocab)
        scale = np.abs(block).max(axis=1) / 127.0
        scale[scale == 0] = 1.0
        quantised = np.rint(block / scale[:, None]).astype(np.int8).T  # features x classes
        model["blocks"].append(
            {
                "features": name,
                "vocab": vocab,
                "idf": vec.idf_.round(5).tolist(),
                "scale": scale.tolist(),
                "coef": base64.b64encode(quantised.tobytes()).decode("ascii"),
            }
        )
    return model


def load() -> tuple[list[str], list[str]]:
    """gnad.jsonl texts and sections."""
    if not GNAD.is_file():
        sys.exit(f"{GNAD} not found: this script needs ../shared/data beside the checkout")
    rows = [json.loads(line) for line in GNAD.open(encoding="utf-8")]
    return [r["text"] for r in rows], [r["section"] for r in rows]


def sentences_of(texts: list[str], labels: list[str]) -> tuple[list[str], list[str], list[int]]:
    """Each article's sentences (over 20 characters, cut at 300) with its section and its number."""
    out, out_labels, groups = [], [], []
    for n, (text, label) in enumerate(zip(texts, labels, strict=True)):
        for sentence in SENTENCE.split(text):
            if len(sentence) > 20:
                out.append(sentence[:300])
                out_labels.append(label)
                groups.append(n)
    return out, out_labels, groups


def train_short(texts: list[str], labels: list[str], cv: bool) -> None:
    """Train (and with ``cv`` cross-validate by article) the short-text model; write it."""
    from sklearn.model_selection import GroupKFold

    sentences, y, groups = sentences_of(texts, labels)
    features = {name: [extract(t) for t in sentences] for name, extract, _ in BLOCKS}
    print(f"{len(sentences):,} sentences of {len(texts)} articles", flush=True)
    if cv:
        pred = np.empty(len(y), dtype=object)
        for train, test in GroupKFold(5).split(sentences, y, groups):
            model = fit(
                {k: [v[i] for i in train] for k, v in features.items()},
                [y[i] for i in train],
                c=SHORT_C,
            )
            clf = SectionClassifier(model)
            pred[test] = clf.best_many([sentences[i] for i in test])
        print(
            f"5-fold CV by article on gnad sentences: accuracy "
            f"{accuracy_score(y, pred.tolist()):.3f}, macro-F1 "
            f"{f1_score(y, pred.tolist(), average='macro'):.3f}",
            flush=True,
        )
    model = fit(features, y, c=SHORT_C)
    SHORT_OUT.write_bytes(
        gzip.compress(
            json.dumps(model, ensure_ascii=False, separators=(",", ":")).encode(), mtime=0
        )
    )
    print(f"wrote {SHORT_OUT} ({SHORT_OUT.stat().st_size / 1e6:.1f} MB)")


def cross_validate(texts: list[str], labels: list[str], features: dict, seeds=(0, 1, 2)) -> None:
    """5-fold CV of the exported model, printed per shuffle, with the last shuffle's details."""
    y = np.array(labels)
    accs, f1s = [], []
    for seed in seeds:
        pred = np.empty_like(y)
        for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(texts, y):
            model = fit({k: [v[i] for i in train] for k, v in features.items()}, y[train].tolist())
            clf = SectionClassifier(model)
            pred[test] = [clf.classify(texts[i])[0].label for i in test]
        accs.append(accuracy_score(y, pred))
        f1s.append(f1_score(y, pred, average="macro"))
        print(f"shuffle {seed}: accuracy {accs[-1]:.3f}, macro-F1 {f1s[-1]:.3f}", flush=True)
    print(
        f"\n5-fold CV on gnad.jsonl ({len(y)} articles), mean of {len(seeds)} shuffles: "
        f"accuracy {np.mean(accs):.3f}, macro-F1 {np.mean(f1s):.3f}\n"
    )
    names = sorted(set(labels))
    p, r, f, n = precision_recall_fscore_support(y, pred, labels=names)
    print(
        f"per class (shuffle {seeds[-1]}):\n| section | precision | recall | F1 | articles |\n|---|---|---|---|---|"
    )
    for row in zip(names, p, r, f, n, strict=False):
        print("| {} | {:.2f} | {:.2f} | {:.2f} | {} |".format(*row))
    print("\nconfusion matrix (rows: true, columns: predicted):")
    print("| | " + " | ".join(x[:5] for x in names) + " |\n" + "|---" * (len(names) + 1) + "|")
    for name, row in zip(names, confusion_matrix(y, pred, labels=names), strict=False):
        print(f"| {name} | " + " | ".join(str(v) for v in row) + " |")


def variants(texts: list[str], labels: list[str], features: dict) -> None:
    """Compare feature sets with sklearn's own evaluation (3 shuffles of 5-fold CV)."""
    y = np.array(labels)

    def score(blocks: list[tuple[str, int]]) -> tuple[float, float]:
        accs, f1s = [], []
        for seed in (0, 1, 2):
            pred = np.empty_like(y)
            for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(texts, y):
                tr, te = [], []
                for name, min_df in blocks:
                    vec = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=min_df)
                    tr.append(vec.fit_transform([features[name][i] for i in train]))
                    te.append(vec.transform([features[name][i] for i in test]))
                svm = LinearSVC(C=1.0).fit(hstack(tr).tocsr(), y[train])
                pred[test] = svm.predict(hstack(te).tocsr())
            accs.append(accuracy_score(y, pred))
            f1s.append(f1_score(y, pred, average="macro"))
        return float(np.mean(accs)), float(np.mean(f1s))

    features = dict(features, words=[[w for w in t.lower().split() if w.isalpha()] for t in texts])
    print("| features | accuracy | macro-F1 |\n|---|---|---|")
    for label, blocks in [
        ("lowercased words", [("words", 2)]),
        ("stems + compound parts", [("stems", 2)]),
        ("char 3-5-grams", [("chars", 3)]),
        ("words + char 3-5-grams", [("words", 2), ("chars", 3)]),
        ("**stems + char 3-5-grams (shipped)**", [("stems", 2), ("chars", 3)]),
    ]:
        acc, f1 = score(blocks)
        print(f"| {label} | {acc:.3f} | {f1:.3f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--cv-only", action="store_true", help="print the CV numbers, do not write the model"
    )
    parser.add_argument("--variants", action="store_true", help="compare feature sets and stop")
    parser.add_argument("--short", action="store_true", help="train the short-text model")
    args = parser.parse_args()
    texts, labels = load()
    if args.short:
        train_short(texts, labels, cv=not args.cv_only)
        return
    features = {name: [extract(t) for t in texts] for name, extract, _ in BLOCKS}
    if args.variants:
        variants(texts, labels, features)
        return
    cross_validate(texts, labels, features)
    if args.cv_only:
        return
    model = fit(features, labels)
    OUT.write_bytes(
        gzip.compress(
            json.dumps(model, ensure_ascii=False, separators=(",", ":")).encode(), mtime=0
        )
    )
    print(
        f"\nwrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB, "
        f"{sum(len(b['vocab']) for b in model['blocks']):,} features)"
    )


if __name__ == "__main__":
    main()
