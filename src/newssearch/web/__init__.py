"""``newssearch serve``: the search page, article pages, entity views and the JSON API."""

from __future__ import annotations

import os
from typing import Any

from ..config import Config
from .app import create_app

__all__ = ["create_app", "default_workers", "serve"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: At most this many worker processes by default (each holds its own searchers in memory).
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """Worker processes ``serve`` starts by default: one per core, at most MAX_DEFAULT_WORKERS."""
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


def serve(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    config: Config | None = None,
) -> None:
    """Run ``app`` with uvicorn until interrupted (blocks).

    With ``workers`` > 1, that many worker processes each answer requests over ``config``'s
    index (``app`` unused) and this process hands each request to a free one
    (:class:`~newssearch.web.workers.Dispatcher`): Python runs one thread at a time per process,
    so more processes use more cores.
    """
    import uvicorn

    if workers > 1 and config is not None:
        from .workers import Dispatcher

        dispatcher = Dispatcher(config, workers)
        dispatcher.start()  # the port opens once every worker is warm
        try:
            uvicorn.run(dispatcher, host=host, port=port, log_level="warning", access_log=False)
        finally:
            dispatcher.close()
        return
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
