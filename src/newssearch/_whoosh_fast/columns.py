"""Reading a segment's per-document columns at once (Whoosh 2.7.4 internals)."""

from __future__ import annotations

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader
from whoosh.reading import IndexReader

__all__ = ["length_bytes", "live_docnums"]


def length_bytes(perdoc: W3PerDocReader, fieldname: str) -> bytes | None:
    """``fieldname``'s length byte for every document of a segment; None when it keeps no lengths.

    Whoosh's API reads them one document at a time; this reads the column at once (Whoosh
    2.7.4 internals: the length column's file, offset and size).
    """
    column = perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
    if column is None:
        return None
    return column._dbfile.get(column._basepos, column._count)


def live_docnums(reader: IndexReader) -> np.ndarray:
    """The reader's undeleted document numbers, ascending, as ``reader.all_doc_ids()`` lists them.

    Whoosh's generator asks ``is_deleted`` once per document in Python; this takes each segment's
    range at once and its deleted set (Whoosh 2.7.4 internals) when it has deletions.
    """
    parts = []
    for leaf, offset in reader.leaf_readers():
        size = leaf.doc_count_all()
        ids = np.arange(offset, offset + size, dtype=np.int64)
        if leaf.has_deletions():
            perdoc = getattr(leaf, "_perdoc", None)
            deleted = perdoc.deleted_docs() if perdoc is not None else None
            if deleted is None:  # not a W3 segment: Whoosh's own generator
                ids = np.fromiter(leaf.all_doc_ids(), dtype=np.int64) + offset
            else:
                gone = np.fromiter(deleted, dtype=np.int64)
                ids = ids[~np.isin(ids, gone + offset)]
        parts.append(ids)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
