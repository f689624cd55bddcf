"""Archive-wide passes: work over the whole index that needs the index and the query layer together.

Each pass is called as ``pass_(index, config, report, new_writer)`` after a run's records are
written (``newssearch index``) and by ``newssearch retag``; it rewrites only the articles it
changes.
"""

from __future__ import annotations

from ..index.writer import ArchivePass
from .topics import apply_user_topics

#: The passes every indexing run ends with, in order.
PASSES: tuple[ArchivePass, ...] = (apply_user_topics,)

__all__ = ["PASSES", "apply_user_topics"]
