"""Reading stored columns across an index's segments."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from whoosh.reading import IndexReader

__all__ = ["column_lookup", "leaf_column"]


def column_lookup(reader: IndexReader, name: str, translate: bool = True) -> Callable[[int], Any]:
    """A docnum -> column value lookup (None where a segment has no such column).

    Not ``reader.column_reader``: Whoosh 2.7's MultiColumnReader skips segments without the
    column but keeps bisecting over the remaining offsets, so documents of a segment where no
    article had, say, a source are read from the wrong segment (or raise IndexError).
    """
    leaves = reader.leaf_readers()
    offsets = [offset for _, offset in leaves]
    columns = [leaf_column(leaf, name, translate) for leaf, _ in leaves]

    def value(docnum: int) -> Any:
        i = bisect_right(offsets, docnum) - 1
        column = columns[i]
        return None if column is None else column[docnum - offsets[i]]

    return value


def leaf_column(leaf: IndexReader, name: str, translate: bool) -> Any:
    """One segment's column reader for ``name``, or None when the segment has no such column."""
    return leaf.column_reader(name, translate=translate) if leaf.has_column(name) else None
