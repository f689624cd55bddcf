"""Name keys: what two spellings of one name share, for entity facets and filters."""

from __future__ import annotations

import re
from functools import lru_cache

from .. import caches

__all__ = ["name_key"]

_QUOTES = str.maketrans({c: None for c in "\"'„“”‚‘’»«›‹`´"})
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—"})
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=caches.WORDS)
def name_key(name: str) -> str:
    """What two spellings of one name share: case, quotes, hyphens vs spaces do not count."""
    return (
        _SPACE.sub(" ", name.translate(_QUOTES).translate(_DASHES).replace("-", " "))
        .strip()
        .casefold()
    )
