"""One :class:`NewsSearch` per request at a time: a small pool the server's threads borrow from.

A ``NewsSearch`` is not safe to share between threads: it keeps one Whoosh searcher and swaps
it (closing the old one) when it sees a newer commit, which would close the searcher under
another thread's running query. Each request therefore borrows its own instance; each
instance follows the index's commits on its own, so a reindex never breaks a request.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager

from ..api import NewsSearch
from ..config import Config
from ..errors import NewsSearchError


class ServerBusyError(NewsSearchError):
    """Every searcher of the pool stayed busy for longer than the wait allowed."""


class SearcherPool:
    """``size`` NewsSearch instances over one index, lent to one thread at a time."""

    def __init__(self, config: Config, size: int = 4, wait: float = 30.0) -> None:
        self.config = config
        self.wait = wait
        self._idle: queue.LifoQueue[NewsSearch] = queue.LifoQueue()
        self._all = [NewsSearch(config.index, config) for _ in range(size)]
        for ns in self._all:
            self._idle.put(ns)

    @contextmanager
    def lease(self) -> Iterator[NewsSearch]:
        """Borrow an instance for the length of the ``with`` block."""
        try:
            ns = self._idle.get(timeout=self.wait)
        except queue.Empty:
            raise ServerBusyError(
                f"all {len(self._all)} searchers were busy for {self.wait:g}s: try again shortly"
            ) from None
        try:
            yield ns
        finally:
            self._idle.put(ns)

    def warm(self) -> None:
        """Open every instance's searcher and facet tables, and load the entity tagger, now.

        Otherwise the first requests pay for it (reading the facet columns, loading the model).
        """
        for ns in self._all:
            ns.search("*", limit=1, facets=("person", "org", "place", "topic", "source", "date"))
        first = self._all[0].search("*", limit=1).hits
        if first:
            self._all[0].details(first[0].id)

    def close(self) -> None:
        """Release every instance's open index files."""
        for ns in self._all:
            ns.close()
