"""Byte-flip attack on an index: does `check` report every damage that changes an answer?

Builds a small index (two segments), then flips one byte at a random offset in one of its files
(table of contents, segment files, checksum file), compares every answer of a fixed set of
queries, an export and some `get`s with the undamaged index's, runs `check` (and `check --deep`),
and restores the file. Three modes:

- ``checksums``: as shipped (a small index is also checksummed whenever it is opened);
- ``large``: as a large index behaves (opening compares sizes only), so damaged bytes reach
  the decoders: every failure must be a NewsSearchError, never another exception;
- ``deep``: the checksum file removed first (an index written by an older newssearch):
  only `check --deep` can find the damage.

Usage: PYTHONPATH=src python bench/attack.py [--flips 200] [--seed 21]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from newssearch import Config, EnrichConfig, IndexingConfig, NewsSearch, NewsSearchError
from newssearch.index import writer

WORDS = ["Flüchtlinge", "Wien", "Regierung", "Asylpaket", "Bundesrat", "Rapid", "Wahl"]
QUERIES = ["Wien", "Flüchtlinge Regierung", '"Nummer 7"', "Meld*", "date:2016-03"]


def records(n: int, prefix: str) -> list[dict]:
    return [
        {
            "id": f"{prefix}{i}",
            "title": f"Meldung {i} {WORDS[i % 7]}",
            "date": f"2016-0{1 + i % 9}-1{i % 10}",
            "source": ["Kurier", "Der Standard", "SZ"][i % 3],
            "text": f"{WORDS[i % 7]} {WORDS[(i * 3) % 7]} Nummer {i} in Österreich. " * 3,
        }
        for i in range(n)
    ]


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def answers(ns: NewsSearch) -> object:
    out: list = []
    for q in QUERIES:
        r = ns.search(q, limit=400, facets=("source", "date"))
        out.append(([(h.id, round(h.score or 0, 5), h.title) for h in r.hits], r.total, r.facets))
    out.append([tuple(sorted(row.items())) for row in ns.export("Wien")])
    out.append([ns.get(f"d{i}") for i in range(0, 300, 37)])
    return out


def run(mode: str, flips: int, seed: int, base: Path) -> dict:
    index = base / mode
    config = Config(
        index=index,
        enrich=EnrichConfig(sections=False, entities=False),
        indexing=IndexingConfig(workers=1),
    )
    with NewsSearch(index, config) as ns:
        ns.index([write(base / "a.jsonl", records(300, "d"))])
        ns.index([write(base / "b.jsonl", records(50, "m"))])
        expected = answers(ns)
    if mode == "deep":
        for p in index.glob("*_CHECKSUMS.json"):
            p.unlink()
    if mode == "large":
        writer.VERIFY_ON_OPEN_BYTES = 0
    pristine = {p.name: p.read_bytes() for p in index.iterdir() if p.is_file()}
    targets = [n for n in pristine if n.endswith((".seg", ".toc", "_CHECKSUMS.json"))]
    rng = random.Random(seed)
    counts = dict(flips=flips, changed=0, failed_clearly=0, found=0, missed=0, tracebacks=0)
    started = time.monotonic()
    try:
        for _ in range(flips):
            name = rng.choice(targets)
            offset = rng.randrange(len(pristine[name]))
            data = bytearray(pristine[name])
            data[offset] ^= 0xA5
            (index / name).write_bytes(bytes(data))
            with NewsSearch(index, config) as ns:
                report = ns.check(deep=mode == "deep")
                try:
                    differs = answers(ns) != expected
                except NewsSearchError:
                    differs = True
                    counts["failed_clearly"] += 1
                except Exception as exc:  # what must never happen
                    differs = True
                    counts["tracebacks"] += 1
                    print(f"  {name}@{offset}: {type(exc).__name__}: {exc}", file=sys.stderr)
            if differs:
                counts["changed"] += 1
                counts["found" if not report.ok else "missed"] += 1
            (index / name).write_bytes(pristine[name])
    finally:
        writer.VERIFY_ON_OPEN_BYTES = 64_000_000
    counts["seconds"] = round(time.monotonic() - started, 1)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flips", type=int, default=200)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--modes", default="checksums,large,deep")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            counts = run(mode, args.flips, args.seed, Path(tmp))
            print(mode, json.dumps(counts))


if __name__ == "__main__":
    main()
