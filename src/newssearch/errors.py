"""Exceptions raised by newssearch.

Every error the library raises on purpose derives from :class:`NewsSearchError`,
so callers can catch one class and show ``str(exc)`` to a user::

    NewsSearchError
    ├── ConfigError            config file missing, unreadable, unknown key, wrong type
    ├── CorpusError            a corpus path is missing, or a bad record under --strict
    ├── IndexError_            base for problems with the index folder
    │   ├── IndexNotFoundError       no index yet at that path
    │   ├── IndexIncompatibleError   other format version or other analysis settings
    │   ├── IndexLockedError         another process holds the write lock
    │   ├── IndexDamagedError        an index file is damaged, missing or not what it should be
    │   └── IndexWriteError          the disk is full or another OS error stopped a write
    ├── EnrichmentError        a worker process died while enriching articles
    ├── QueryError             the query text cannot be parsed
    ├── ArticleNotFoundError   no article with that id
    └── ExportError            an export cannot be written where asked

The messages say what went wrong and what to do next; the CLI prints them as they are.
"""

from __future__ import annotations


class NewsSearchError(Exception):
    """Base class of every error newssearch raises on purpose."""


class ConfigError(NewsSearchError):
    """The configuration file is missing, unreadable or has a bad key or value."""


class CorpusError(NewsSearchError):
    """A corpus path cannot be read, or a bad record was met in strict mode."""


class IndexError_(NewsSearchError):  # trailing underscore: do not shadow the builtin IndexError
    """Base class of problems with the index folder."""


class IndexNotFoundError(IndexError_):
    """There is no index at the given path yet."""


class IndexIncompatibleError(IndexError_):
    """The index was written by another format version or with other analysis settings."""


class IndexLockedError(IndexError_):
    """Another process is writing to the index and did not finish within the timeout."""


class IndexDamagedError(IndexError_):
    """An index file is damaged, truncated, missing or holds something an index never holds."""


class IndexWriteError(IndexError_):
    """Writing the index failed for a reason outside newssearch: disk full, permissions, I/O."""


class EnrichmentError(NewsSearchError):
    """A worker process enriching articles (sections, entities) died: out of memory, or killed."""


class QueryError(NewsSearchError):
    """The query text is not valid in the query language."""


class ArticleNotFoundError(NewsSearchError):
    """No article with the given id is in the index."""


class ExportError(NewsSearchError):
    """An export (OpenSearch bulk files) cannot be written where or how it was asked."""
