"""Speed paths built on Whoosh 2.7.4's private internals, in one place.

Two fast paths live here, each with a switch and a plain-Whoosh fallback:

- :mod:`.segments` writes segments (``indexing.fast_writer``); the reference is Whoosh's own
  ``SegmentWriter`` with ``W3Codec``, and ``tests/test_whoosh_fast.py`` checks the files are the
  same byte for byte.
- :mod:`.vector` scores whole posting blocks with numpy (``search.fast``); the reference is
  Whoosh's collectors (``query.search``'s plain path), checked hit for hit by
  ``tests/test_vector.py``.

Both lean on names Whoosh does not promise to keep, so the installed version is checked when
newssearch is imported, and any unexpected error inside a fast path makes the caller fall back to
plain Whoosh (logged once per path) instead of failing. ``NEWSSEARCH_FAST=0`` in the environment
turns both off by default (``config.fast_default``; the test suite runs once that way).
"""

from __future__ import annotations

import logging

import whoosh

__all__ = [
    "WHOOSH_VERSION",
    "FastPathError",
    "check_whoosh",
    "warn_fallback",
]

#: The only Whoosh release whose internals the fast paths were written and tested against.
WHOOSH_VERSION = (2, 7, 4)

_log = logging.getLogger("newssearch")
_warned: set[str] = set()


class FastPathError(Exception):
    """A fast path met something it was not written for; the caller redoes the work plainly."""


def check_whoosh() -> None:
    """Fail with a clear message when the installed Whoosh is not the pinned release."""
    found = tuple(getattr(whoosh, "__version__", ()) or ())
    if found != WHOOSH_VERSION:
        want = ".".join(map(str, WHOOSH_VERSION))
        have = ".".join(map(str, found)) or "an unknown version"
        raise ImportError(
            f"newssearch needs Whoosh {want} exactly (it builds on that release's internals), "
            f"but Whoosh {have} is installed: run `pip install whoosh=={want}`"
        )


def warn_fallback(path: str, exc: BaseException) -> None:
    """Log, once per process and path, that a fast path failed and plain Whoosh took over."""
    if path not in _warned:
        _warned.add(path)
        _log.warning(
            "newssearch: the fast %s failed (%s: %s); using plain Whoosh instead",
            path,
            type(exc).__name__,
            exc,
        )
