"""Sections shown on headline-only records: accuracy, coverage, Digital share, confusion matrix.

    python bench/sections.py                 # the shipped classifier and cut-offs, both halves
    python bench/sections.py --calibrate     # choose the cut-offs on the calibration half

Headlines (``../shared/data/corpus/headlines.jsonl.gz``, every 14th record: 21,398) are
classified as ``newssearch index`` classifies a title-only record (title = text).
A headline's ``url_section`` says its section where it maps to one of DER STANDARD's sections
unambiguously (wirtschaft, unternehmen, finanzen, geld -> Wirtschaft; sport; kultur; wissen,
wissenschaft; ausland, international; panorama, vermischtes; technik, technologie, digital,
netzwelt -> Digital; medien -> Medien). "politik" means Inland or International: counted apart.

Records alternate between the calibration half (even positions) and the held-out half (odd):
cut-offs are chosen on the calibration half only. A shown section is right when it is the
url_section's. Coverage: the share of headlines shown with a section at all. Digital share: the
headlines of all sections shown as Digital whose url_section is not a digital one.
The headlines carry no licence: only the cut-off numbers derived here ship, no text or model.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from newssearch.enrich import topics

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "corpus" / "headlines.jsonl.gz"

URL_SECTIONS = {
    "wirtschaft": "Wirtschaft",
    "unternehmen": "Wirtschaft",
    "finanzen": "Wirtschaft",
    "geld": "Wirtschaft",
    "sport": "Sport",
    "kultur": "Kultur",
    "wissen": "Wissenschaft",
    "wissenschaft": "Wissenschaft",
    "ausland": "International",
    "international": "International",
    "panorama": "Panorama",
    "vermischtes": "Panorama",
    "technik": "Web",
    "technologie": "Web",
    "digital": "Web",
    "netzwelt": "Web",
    "medien": "Etat",
}
POLITICS = {"politik": ("Inland", "International")}


def load(path: Path, step: int) -> list[dict]:
    """Every ``step``-th headline."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % step == 0:
                out.append(json.loads(line))
    return out


def batched(fn, texts: list[str], size: int = 2000) -> list:
    """``fn(texts, repeats)`` over slices (a title-only record is read once, its counts doubled)."""
    out: list = []
    for start in range(0, len(texts), size):
        part = texts[start : start + size]
        out.extend(fn(part, [2] * len(part)))
    return out


def shown(values: np.ndarray, margins: dict[str, float]) -> list[str | None]:
    """The section shown for each headline under per-section margin cut-offs."""
    labels = topics.short_section_classifier().labels
    best = values.argmax(axis=1)
    top2 = np.sort(values, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    need = np.array([margins.get(label, np.inf) for label in labels])
    return [
        labels[b] if m >= need[b] else None
        for b, m in zip(best.tolist(), margin.tolist(), strict=True)
    ]


def report(name: str, records: list[dict], predicted: list[str | None]) -> dict[str, float]:
    """Print and return accuracy, coverage and Digital share over ``records``."""
    labels = topics.section_classifier().labels
    right = wrong = 0
    confusion: Counter = Counter()
    politics_right = politics_shown = politics_all = 0
    digital_wrong = 0
    for r, p in zip(records, predicted, strict=True):
        truth = URL_SECTIONS.get(r["url_section"])
        if p == "Web" and truth != "Web":
            digital_wrong += 1
        if r["url_section"] in POLITICS:
            politics_all += 1
            if p is not None:
                politics_shown += 1
                politics_right += p in POLITICS[r["url_section"]]
        if truth is None:
            continue
        confusion[truth, p] += 1
        if p is not None:
            right += p == truth
            wrong += p != truth
    mapped = sum(1 for r in records if r["url_section"] in URL_SECTIONS)
    shown_all = sum(p is not None for p in predicted)
    out = {
        "accuracy": right / max(right + wrong, 1),
        "coverage_mapped": (right + wrong) / max(mapped, 1),
        "coverage_all": shown_all / len(records),
        "digital_share": digital_wrong / len(records),
        "politics_accuracy": politics_right / max(politics_shown, 1),
    }
    print(f"\n## {name}: {len(records):,} headlines, {mapped:,} with an unambiguous url_section")
    print(
        f"shown sections right (unambiguous url_section): {out['accuracy']:.3f} "
        f"({right:,} of {right + wrong:,}); coverage {out['coverage_mapped']:.3f} of those, "
        f"{out['coverage_all']:.3f} of all headlines"
    )
    print(
        f"politik headlines shown as Inland or International: {out['politics_accuracy']:.3f} "
        f"of the {politics_shown:,} shown ({politics_all:,} politik headlines)"
    )
    print(
        f"shown as Digital without a digital url_section: {digital_wrong:,} = "
        f"{out['digital_share']:.3f} of all headlines"
    )
    short = [topics.display_name(label)[:6] for label in labels]
    print("\nconfusion (rows: url_section's section, columns: shown; - = none shown):")
    print("| | " + " | ".join(short) + " | - |")
    print("|---" * (len(labels) + 2) + "|")
    for truth in labels:
        row = [confusion[truth, p] for p in labels] + [confusion[truth, None]]
        if any(row):
            print(f"| {topics.display_name(truth)} | " + " | ".join(map(str, row)) + " |")
    return out


def calibrate(
    values: np.ndarray, records: list[dict], target: float, politics: bool = True
) -> dict[str, float]:
    """Per section, the smallest margin at which the headlines shown with it whose url_section
    maps to a section are right at least ``target`` of the time (20 at least); never: inf.
    With ``politics``, a politik headline shown with another section than Inland or
    International counts as wrong (it says nothing about those two: they are judged on the
    unambiguous url_sections alone)."""
    labels = topics.short_section_classifier().labels
    best = values.argmax(axis=1)
    top2 = np.sort(values, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    margins: dict[str, float] = {}
    for k, label in enumerate(labels):
        judged = []  # (margin, right) of headlines whose best label is this one and can be judged
        for i in np.flatnonzero(best == k).tolist():
            section = records[i]["url_section"]
            if section in URL_SECTIONS:
                judged.append((margin[i], URL_SECTIONS[section] == label))
            elif politics and section in POLITICS and label not in POLITICS[section]:
                judged.append((margin[i], False))
        judged.sort(reverse=True)
        cut, right = float("inf"), 0
        # walk from the surest down; keep the lowest margin where precision (>= 20 judged) holds
        for n, (m, ok) in enumerate(judged, start=1):
            right += ok
            if n >= 20 and right / n >= target:
                cut = float(m)
        margins[label] = round(cut, 3) if cut != float("inf") else cut
    return margins


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headlines", type=Path, default=DEFAULT)
    parser.add_argument("--step", type=int, default=14, help="every n-th headline (default 14)")
    parser.add_argument(
        "--calibrate", action="store_true", help="choose cut-offs on the calibration half"
    )
    parser.add_argument(
        "--target", type=float, default=0.5, help="precision per section when calibrating"
    )
    parser.add_argument(
        "--without-politics",
        action="store_true",
        help="calibrate on unambiguous url_sections only (politik headlines not judged)",
    )
    args = parser.parse_args(argv)
    records = load(args.headlines, args.step)
    titles = [r["title"] for r in records]
    calib = list(range(0, len(records), 2))
    held = list(range(1, len(records), 2))
    print("# before: the full-text model's best section for every headline")
    report("all headlines", records, batched(topics.section_classifier().best_many, titles))
    if args.calibrate:
        values = np.asarray(batched(topics.short_section_classifier().scores_many, titles))
        margins = calibrate(
            values[calib], [records[i] for i in calib], args.target, not args.without_politics
        )
        print("\nshort-text margins (calibration half):", json.dumps(margins))
        predicted = shown(values, margins)
    else:
        print("\nshipped short-text margins:", json.dumps(topics.SHORT_TEXT_MARGINS))
        # exactly what indexing does with a title-only record
        predicted = batched(topics.sections_many, titles)
    print("\n# now: the short-text model where it is sure, else no section")
    for name, part in (("calibration half", calib), ("held-out half", held)):
        report(name, [records[i] for i in part], [predicted[i] for i in part])
    return 0


if __name__ == "__main__":
    sys.exit(main())
