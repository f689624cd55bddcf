"""Wire-copy detection: recall of agency-style copies, false joins of distinct articles, cost.

Copies are made of the shared gnad articles the way agencies' stories are reused: the lead
rewritten, paragraphs (sentences) cut from the end, paragraphs of other text added, the source
changed. Each original and its copies go through the index-time grouper
(``newssearch.enrich.stories.StoryGrouper``) in a shuffled order, as they would arrive.

Printed per half of gnad (``tune``: even lines, used to choose the thresholds; ``held-out``:
odd lines, never tuned on):
- recall: copies that end up in their original's story
- false joins: pairs of distinct gnad articles put into one story, over all distinct pairs
and on 20,000 shared headlines, the pairs of distinct headline records joined (same title and
day is the rule), and the grouper's cost per article.

    python bench/dedup.py                       # both halves, headlines, cost
    python bench/dedup.py --grid                # the threshold grid on the tune half
    python bench/dedup.py --index-cost          # + indexing time with stories on and off
    python bench/dedup.py --cost-only           # only that
    python bench/dedup.py --simhash             # SimHash (all pairs) instead, for comparison
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import itertools
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from newssearch import Config, NewsSearch  # noqa: E402
from newssearch.config import EnrichConfig  # noqa: E402
from newssearch.enrich import stories  # noqa: E402
from newssearch.models import Article  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OPENERS = [
    "Wie die Nachrichtenagentur APA meldet,",
    "Nach Angaben der Agentur dpa",
    "Laut einem Bericht der Agentur Reuters",
    "Wie am Montag bekannt wurde,",
    "Aktuell:",
]
SOURCES = ["Kurier", "Die Presse", "Salzburger Nachrichten", "Kleine Zeitung", "ORF", "profil"]


def sentences(text: str) -> list[str]:
    return [s for s in text.split(". ") if s]


def make_copy(text: str, others: list[str], rng: random.Random) -> tuple[str, list[str]]:
    """An agency-style copy of ``text`` and the edits made."""
    parts = sentences(text)
    edits = []
    if rng.random() < 0.7 and len(parts) > 1:  # lead rewritten: an opener, words dropped
        words = parts[0].split()
        kept = [w for w in words if rng.random() < 0.5]
        parts[0] = f"{rng.choice(OPENERS)} {' '.join(kept)}"
        edits.append("lead")
    if rng.random() < 0.5 and len(parts) > 3:  # paragraphs cut from the end (20-50 %)
        cut = max(1, int(len(parts) * rng.uniform(0.2, 0.5)))
        parts = parts[: len(parts) - cut]
        edits.append("cut")
    if rng.random() < 0.5:  # paragraphs added: background from another article
        other = sentences(rng.choice(others))
        start = rng.randrange(len(other))
        parts += other[start : start + rng.randint(1, 3)]
        edits.append("added")
    return ". ".join(parts), edits


def load_gnad() -> list[dict]:
    with open(DATA / "corpus" / "gnad.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def run(articles: list[dict], copies_per: int, seed: int) -> dict:
    """Group originals + copies; recall, false joins, cost."""
    rng = random.Random(seed)
    texts = [a["text"] for a in articles]
    items = [(a["id"], a["text"], a["id"]) for a in articles]
    edits: Counter = Counter()
    for a in articles:
        for k in range(copies_per):
            text, made = make_copy(a["text"], texts, rng)
            edits.update(made or ["source only"])
            items.append((f"{a['id']}~{k}", text, a["id"]))
    rng.shuffle(items)
    # the originals alone: distinct articles joined without any copy to bridge them
    alone = stories.StoryGrouper()
    alone_story = {
        a["id"]: alone.fields(Article(id=a["id"], text=a["text"]))["story"] for a in articles
    }
    alone_joined = sum(k * (k - 1) // 2 for k in Counter(alone_story.values()).values())
    grouper = stories.StoryGrouper()
    story: dict[str, str] = {}
    started = time.perf_counter()
    for item_id, text, _ in items:
        story[item_id] = grouper.fields(Article(id=item_id, text=text))["story"]
    seconds = time.perf_counter() - started
    # stories as sets of the originals' ids (a copy may found the story)
    members: dict[str, set[str]] = {}
    for item_id, _, origin in items:
        members.setdefault(story[item_id], set()).add(origin)
    group_of = {}
    for group, origins in members.items():
        for origin in origins:
            group_of.setdefault(origin, set()).add(group)
    copies = [(i, o) for i, _, o in items if i != o]
    found = sum(story[i] == story[o] for i, o in copies)
    n = len(articles)
    pairs = n * (n - 1) // 2
    joined = sum(len(o) * (len(o) - 1) // 2 for o in members.values())
    return {
        "articles": n,
        "copies": len(copies),
        "edits": dict(edits),
        "recall": found / len(copies),
        "false_pairs": joined,
        "pairs": pairs,
        "false_rate": joined / pairs,
        "alone_pairs": alone_joined,
        "joined_examples": [sorted(o) for o in members.values() if len(o) > 1][:5],
        "us_per_article": seconds / len(items) * 1e6,
    }


def headline_joins(n: int) -> dict:
    """Distinct headline records joined by the same title and day."""
    grouper = stories.StoryGrouper()
    story = {}
    with gzip.open(DATA / "corpus" / "headlines.jsonl.gz", "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in itertools.islice(fh, n)]
    started = time.perf_counter()
    for r in records:
        article = Article(
            id=r["id"],
            text="",
            title=r["title"],
            date=dt.datetime.fromisoformat(r["date"]),
            source=r["outlet"],
        )
        story[r["id"]] = grouper.fields(article)["story"]
    seconds = time.perf_counter() - started
    sizes = Counter(story.values())
    joined = sum(k * (k - 1) // 2 for k in sizes.values())
    same_title = Counter(r["title"] for r in records)
    return {
        "records": n,
        "joined_pairs": joined,
        "pairs": n * (n - 1) // 2,
        "same_title_pairs": sum(k * (k - 1) // 2 for k in same_title.values()),
        "us_per_record": seconds / n * 1e6,
        "examples": [
            [(r["title"], r["date"], r["outlet"]) for r in records if story[r["id"]] == s]
            for s, k in sizes.most_common(3)
            if k > 1
        ],
    }


def simhash(text: str) -> int:
    """64-bit SimHash of the text's word 4-grams (the shingles MinHash uses), for comparison."""
    words = stories._WORD.findall(text.lower())
    hashes = np.array([stories._word_hash(w) for w in words], dtype=np.int64).view(np.uint64)
    k = min(stories.SHINGLE, len(hashes))
    n = len(hashes) - k + 1
    with np.errstate(over="ignore"):
        shingles = hashes[:n] * stories._MIX[0]
        for i in range(1, k):
            shingles = shingles ^ (hashes[i : i + n] * stories._MIX[i])
        shingles = np.unique(shingles) * np.uint64(0x9E3779B97F4A7C15)  # spread the bits
    bits = (shingles[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    ones = bits.sum(axis=0)
    return int(sum(1 << i for i in range(64) if ones[i] * 2 > len(shingles)))


def simhash_run(articles: list[dict], copies_per: int, seed: int, distances: list[int]) -> list:
    """Recall and false joins when items within ``d`` differing bits are joined (all pairs)."""
    rng = random.Random(seed)
    texts = [a["text"] for a in articles]
    items = [(a["text"], n) for n, a in enumerate(articles)]
    for n, a in enumerate(articles):
        for _ in range(copies_per):
            items.append((make_copy(a["text"], texts, rng)[0], n))
    started = time.perf_counter()
    codes = np.array([simhash(text) for text, _ in items], dtype=np.uint64)
    per_item = (time.perf_counter() - started) / len(items)
    origin = np.array([o for _, o in items])
    # Hamming distances of all pairs
    xor = codes[:, None] ^ codes[None, :]
    dist = np.unpackbits(xor.view(np.uint8), axis=1).reshape(len(codes), len(codes), 64).sum(2)
    out = []
    for d in distances:
        parent = list(range(len(items)))
        for i, j in zip(*np.nonzero(np.triu(dist <= d, 1)), strict=True):
            parent[_find(parent, int(i))] = _find(parent, int(j))
        roots = [_find(parent, i) for i in range(len(items))]
        n = len(articles)
        recall = np.mean([roots[i] == roots[origin[i]] for i in range(n, len(items))])
        groups = Counter(roots[i] for i in range(n))
        joined = sum(k * (k - 1) // 2 for k in groups.values())
        out.append((d, float(recall), joined, n * (n - 1) // 2, per_item))
    return out


def _find(parent: list[int], i: int) -> int:
    """Union-find root of ``i`` (with path halving)."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def index_cost(articles: list[dict], seed: int) -> dict:
    """Indexing originals + one copy each, stories on and off (alternating; default workers):
    wall time and the indexing process's own CPU time (where the grouper runs)."""
    rng = random.Random(seed)
    texts = [a["text"] for a in articles]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "c.jsonl"
        with open(corpus, "w", encoding="utf-8") as fh:
            for a in articles:
                fh.write(json.dumps({"id": a["id"], "text": a["text"]}, ensure_ascii=False) + "\n")
                copy, _ = make_copy(a["text"], texts, rng)
                record = {"id": a["id"] + "~", "text": copy, "source": rng.choice(SOURCES)}
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        for run_no, on in enumerate([False, True, False, True]):
            config = Config(index=Path(tmp) / f"ix{run_no}", enrich=EnrichConfig(stories=on))
            with NewsSearch(config.index, config) as ns:
                started, cpu = time.perf_counter(), time.process_time()
                ns.index([corpus])
                out.setdefault("on" if on else "off", []).append(
                    (time.perf_counter() - started, time.process_time() - cpu)
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=2, help="copies made of each article")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--grid", action="store_true", help="threshold grid on the tune half")
    parser.add_argument("--headlines", type=int, default=20_000)
    parser.add_argument("--index-cost", action="store_true")
    parser.add_argument("--cost-only", action="store_true", help="only the indexing cost")
    parser.add_argument("--simhash", action="store_true", help="SimHash instead, for comparison")
    args = parser.parse_args()
    gnad = load_gnad()
    halves = {"tune": gnad[0::2], "held-out": gnad[1::2]}
    if args.grid:
        grid = itertools.product((0.4, 0.5, 0.6), (0.2, 0.25, 0.3), (0.25, 0.5))
        for c, r, short in grid:
            stories.CONTAINMENT, stories.RESEMBLANCE, stories.SHORT_RESEMBLANCE = c, r, short
            res = run(halves["tune"], args.copies, args.seed)
            print(
                f"containment>={c:.2f} resemblance>={r:.2f} (short texts {short:.2f}): "
                f"recall {res['recall']:.4f}, false joins {res['false_pairs']} of "
                f"{res['pairs']:,} pairs ({res['false_rate']:.4%}), originals alone "
                f"{res['alone_pairs']}"
            )
        return
    if args.simhash:
        for name, articles in halves.items():
            for d, recall, joined, pairs, per_item in simhash_run(
                articles, args.copies, args.seed, [3, 6, 9, 12, 15, 18]
            ):
                print(
                    f"simhash {name}: joined within {d} bits: recall {recall:.4f}, false joins "
                    f"{joined} of {pairs:,} ({joined / pairs:.4%}); {per_item * 1e6:.0f} µs/article"
                )
        return
    if not args.cost_only:
        quality(halves, args)
    if args.index_cost or args.cost_only:
        cost = index_cost(gnad[:400], args.seed)
        runs = {k: ", ".join(f"{w:.1f} s ({c:.1f} s)" for w, c in v) for k, v in cost.items()}
        print(
            "indexing 400 gnad articles + 400 copies, alternating runs, wall (indexing "
            f"process CPU): stories off {runs['off']}; on {runs['on']}"
        )


def quality(halves: dict[str, list[dict]], args: argparse.Namespace) -> None:
    """Recall and false joins on both gnad halves; joins among headlines."""
    print(
        f"rule: containment >= {stories.CONTAINMENT}, resemblance >= {stories.RESEMBLANCE} "
        f"({stories.SHORT_RESEMBLANCE} under {stories.SHORT} shingles)"
    )
    for name, articles in halves.items():
        res = run(articles, args.copies, args.seed)
        print(
            f"gnad {name}: {res['articles']} articles + {res['copies']} copies "
            f"(edits {res['edits']}): recall {res['recall']:.4f}; false joins "
            f"{res['false_pairs']} of {res['pairs']:,} distinct pairs ({res['false_rate']:.4%}); "
            f"originals alone: {res['alone_pairs']} pairs joined; "
            f"grouper {res['us_per_article']:.0f} µs/article"
        )
        for example in res["joined_examples"]:
            print(f"    joined: {example}")
    h = headline_joins(args.headlines)
    print(
        f"headlines: {h['records']:,} records, {h['joined_pairs']:,} pairs joined of "
        f"{h['pairs']:,} ({h['joined_pairs'] / h['pairs']:.5%}); pairs with the same title "
        f"(any day): {h['same_title_pairs']:,}; grouper {h['us_per_record']:.1f} µs/record"
    )
    for example in h["examples"]:
        print(f"    joined: {example}")


if __name__ == "__main__":
    main()
