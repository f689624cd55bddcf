"""``newssearch serve``: the search page, article pages, entity views and the JSON API."""

from __future__ import annotations

import base64
import os
import pickle
from typing import Any

from ..config import Config
from .app import create_app

__all__ = ["create_app", "serve"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: How ``serve`` hands the config to its worker processes.
CONFIG_ENV = "NEWSSEARCH_SERVE_CONFIG"


def app_from_environment() -> Any:
    """The app of one worker process of ``serve(workers > 1)``, warmed up (uvicorn's factory)."""
    config = pickle.loads(base64.b64decode(os.environ[CONFIG_ENV]))
    app = create_app(config)
    app.state.pool.warm()
    return app


def serve(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    config: Config | None = None,
) -> None:
    """Run ``app`` with uvicorn until interrupted (blocks).

    With ``workers`` > 1, that many processes each serve ``config``'s index (``app`` unused):
    Python runs one thread at a time per process, so more processes use more cores.
    """
    import uvicorn

    if workers > 1 and config is not None:
        os.environ[CONFIG_ENV] = base64.b64encode(pickle.dumps(config)).decode("ascii")
        uvicorn.run(
            "newssearch.web:app_from_environment",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
        )
        return
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
