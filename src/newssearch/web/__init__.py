"""``newssearch serve``: the search page, article pages, entity views and the JSON API."""

from __future__ import annotations

from typing import Any

from .app import create_app

__all__ = ["create_app", "serve"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def serve(app: Any, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run ``app`` with uvicorn until interrupted (blocks)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
