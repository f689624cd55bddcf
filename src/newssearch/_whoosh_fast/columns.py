"""Reading a segment's per-document columns at once (Whoosh 2.7.4 internals)."""

from __future__ import annotations

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader

__all__ = ["length_bytes"]


def length_bytes(perdoc: W3PerDocReader, fieldname: str) -> bytes | None:
    """``fieldname``'s length byte for every document of a segment; None when it keeps no lengths.

    Whoosh's API reads them one document at a time; this reads the column at once (Whoosh
    2.7.4 internals: the length column's file, offset and size).
    """
    column = perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
    if column is None:
        return None
    return column._dbfile.get(column._basepos, column._count)
