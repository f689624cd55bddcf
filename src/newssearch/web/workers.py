"""``serve --workers N``: one process speaks HTTP, N worker processes answer the requests.

A page's work is pure Python, so one process uses one core at a time. Several uvicorn
processes sharing the listening socket would use more cores, but the kernel hands each
keep-alive *connection* to one of them for good: with 8 clients and 2 processes, 6 connections
on one process and 2 on the other was common, and the crowded one answered three times slower
while the other idled. Here the front process hands each *request* to whichever worker is free
(a :class:`multiprocessing.pool.Pool` task queue), so the work spreads evenly.

Each worker holds the same app as ``serve --workers 1`` (routes, security headers, error pages,
its own searchers that follow the index's commits) and runs it on its own event loop; the front
process only parses HTTP and copies the answer back.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.pool
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from ..config import Config
from .app import SECURITY_HEADERS, create_app

#: Longest a request may take in a worker before the client gets a 503 (exports included).
REQUEST_SECONDS = 120.0
#: The parts of an HTTP scope a worker needs to answer (no sockets, no server state).
_SCOPE_KEYS = (
    "type",
    "asgi",
    "http_version",
    "method",
    "scheme",
    "path",
    "raw_path",
    "query_string",
    "root_path",
    "headers",
    "client",
    "server",
)

# The worker process's app and event loop (set by _start_worker).
_app: Any = None
_loop: asyncio.AbstractEventLoop | None = None


def _start_worker(config: Config) -> None:
    """Build and warm this worker's app (the pool's initializer)."""
    global _app, _loop
    _app = create_app(config)
    _app.state.pool.warm()
    _loop = asyncio.new_event_loop()


def _answer(scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, body) of one request, answered by this worker's app."""
    assert _app is not None and _loop is not None
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    _loop.run_until_complete(_app(scope, receive, send))
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], [(bytes(k), bytes(v)) for k, v in start.get("headers", [])], body


def _warm_up(_: int) -> int:
    """Nothing: a task each worker runs once so that all have started before serving."""
    import os
    import time

    time.sleep(0.2)  # long enough that the other workers take the other warm-up tasks
    return os.getpid()


class Dispatcher:
    """The front process's ASGI app: each HTTP request goes to a free worker process."""

    def __init__(self, config: Config, workers: int) -> None:
        self.config = config
        self.workers = workers
        self._pool: multiprocessing.pool.Pool | None = None

    def start(self) -> None:
        """Start the worker processes and wait until each has opened and warmed its searchers."""
        # spawn, not fork: the front process runs an event loop and threads
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(self.workers, initializer=_start_worker, initargs=(self.config,))
        self._pool.map(_warm_up, range(self.workers), chunksize=1)

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http" or self._pool is None:
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()

        def finished(result: Any) -> None:
            loop.call_soon_threadsafe(_settle, done, result, None)

        def failed(exc: BaseException) -> None:
            loop.call_soon_threadsafe(_settle, done, None, exc)

        small = {k: scope[k] for k in _SCOPE_KEYS if k in scope}
        small["headers"] = [(bytes(k), bytes(v)) for k, v in scope.get("headers", [])]
        self._pool.apply_async(_answer, (small,), callback=finished, error_callback=failed)
        try:
            status, headers, body = await asyncio.wait_for(done, REQUEST_SECONDS)
        except Exception:  # a worker died, or the request ran too long
            status = 503
            headers = [(b"content-type", b"text/plain; charset=utf-8"), *SECURITY_HEADERS]
            body = b"The server could not answer in time: try again shortly.\n"
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _settle(future: asyncio.Future, result: Any, exc: BaseException | None) -> None:
    if future.done():  # timed out already
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
