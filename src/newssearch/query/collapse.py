"""Wire copies folded at query time: one hit per story, and the largest stories of the index.

Stories are made at index time (:mod:`newssearch.enrich.stories`); each document stores its
story's id in the ``story`` column, read here as a facet table (one value per document).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter

import numpy as np
from whoosh.searching import Searcher

from . import facets

#: Copies listed per collapsed hit (the count covers all of them).
MAX_COPIES = 20


def story_ids(searcher: Searcher, docnums: np.ndarray) -> np.ndarray:
    """Each document's story as a number (equal number, same story); unique where it has none."""
    table = facets.facet_tables(searcher.reader()).table("story")
    starts = table.indptr[docnums]
    has = table.indptr[docnums + 1] > starts
    out = np.where(has, table.ids[np.minimum(starts, max(len(table.ids) - 1, 0))], -1)
    # a document without a story (none in a current index) is a story of its own
    return np.where(has, out, -(docnums.astype(np.int64) + 1))


@dataclass(frozen=True)
class Collapsed:
    """The best match of every story, in ranking order, with the other matches of each."""

    #: (docnum, score) of each story's best match, best first
    ranked: list[tuple[int, float | None]]
    #: representative docnum -> the other matching docnums of its story, best first
    copies: dict[int, list[int]]

    @property
    def docnums(self) -> np.ndarray:
        """The representatives' docnums, ascending (for facet counts over stories)."""
        return np.sort(np.fromiter(map(itemgetter(0), self.ranked), dtype=np.int64))


def collapse(searcher: Searcher, ranked: list[tuple[int, float | None]]) -> Collapsed:
    """Fold the ranked matches (all of them, best first) to one per story."""
    if not ranked:
        return Collapsed([], {})
    docs = np.fromiter(map(itemgetter(0), ranked), dtype=np.int64, count=len(ranked))
    stories = story_ids(searcher, docs)
    _, first, inverse = np.unique(stories, return_index=True, return_inverse=True)
    keep = np.sort(first)
    copies: dict[int, list[int]] = {}
    sizes = np.bincount(inverse)
    if (sizes > 1).any():
        # every position of each story with copies, in ranking order
        grouped = np.argsort(inverse, kind="stable")
        bounds = np.concatenate(([0], np.cumsum(sizes)))
        for group in np.flatnonzero(sizes > 1).tolist():
            positions = grouped[bounds[group] : bounds[group + 1]]
            copies[int(docs[positions[0]])] = [int(d) for d in docs[positions[1:]]]
    return Collapsed([ranked[i] for i in keep.tolist()], copies)


def largest_stories(searcher: Searcher, top: int = 20) -> list[list[int]]:
    """The ``top`` stories with the most articles (two or more), as docnum lists, oldest first."""
    reader = searcher.reader()
    live = np.fromiter(reader.all_doc_ids(), dtype=np.int64)
    if not len(live):
        return []
    stories = story_ids(searcher, live)
    values, inverse, counts = np.unique(stories, return_inverse=True, return_counts=True)
    order = np.lexsort((values, -counts))
    groups = []
    for group in order[:top].tolist():
        if counts[group] < 2:
            break
        groups.append([int(d) for d in live[inverse == group]])
    return groups
