"""``serve --workers N``: one process speaks HTTP, N worker processes answer the requests.

A page's work is pure Python, so one process uses one core at a time. Several uvicorn
processes sharing the listening socket would use more cores, but the kernel hands each
keep-alive *connection* to one of them for good: with 8 clients and 2 processes, 6 connections
on one process and 2 on the other was common, and the crowded one answered three times slower
while the other idled. Here the front process hands each *request* to whichever worker is free
(each worker has a pipe; the idle ones wait in a queue), so the work spreads evenly.

Each worker holds the same app as ``serve --workers 1`` (routes, security headers, error pages,
its own searchers that follow the index's commits) and runs it on its own event loop; the front
process only parses HTTP and copies the answer back.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import pickle
import signal
from collections.abc import Coroutine
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


def _worker_main(config: Config, conn: multiprocessing.connection.Connection) -> None:
    """A worker process: answer each request that comes down ``conn`` until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the front process to handle
    _start_worker(config)
    conn.send_bytes(b"ready")
    while True:
        try:
            scope = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):  # the front process closed the pipe: stop
            return
        conn.send_bytes(pickle.dumps(_answer(scope), protocol=pickle.HIGHEST_PROTOCOL))


class _Worker:
    """One worker process and the front process's end of its pipe."""

    def __init__(self, config: Config) -> None:
        # spawn, not fork: the front process runs an event loop
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(config, child), daemon=True)
        self.process.start()
        child.close()

    def wait_ready(self, seconds: float) -> None:
        """Block until the worker has opened and warmed its searchers."""
        if not self.conn.poll(seconds) or self.conn.recv_bytes() != b"ready":
            self.stop()
            raise RuntimeError(f"a server worker process did not start within {seconds:g} s")

    def stop(self) -> None:
        """Close the pipe and end the process."""
        self.conn.close()
        self.process.terminate()
        self.process.join(timeout=10)


class Dispatcher:
    """The front process's ASGI app: each HTTP request goes to a free worker process."""

    #: How long a worker may take to start and warm up.
    START_SECONDS = 300.0

    def __init__(self, config: Config, workers: int) -> None:
        self.config = config
        self.workers = workers
        self._all: list[_Worker] = []
        self._idle: asyncio.Queue[_Worker] | None = None
        self._jobs: set[asyncio.Task] = set()

    def start(self) -> None:
        """Start the worker processes and wait until each has opened and warmed its searchers."""
        self._all = [_Worker(self.config) for _ in range(self.workers)]
        try:
            for worker in self._all:
                worker.wait_ready(self.START_SECONDS)
        except RuntimeError:
            self.close()
            raise

    def close(self) -> None:
        """Stop the worker processes."""
        for worker in self._all:
            worker.stop()
        self._all = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self._idle is None:  # made in the server's running event loop
            self._idle = asyncio.Queue()
            for worker in self._all:
                self._idle.put_nowait(worker)
        small = {k: scope[k] for k in _SCOPE_KEYS if k in scope}
        small["headers"] = [(bytes(k), bytes(v)) for k, v in scope.get("headers", [])]
        worker = await self._idle.get()
        try:
            status, headers, body = await self._answer_of(worker, small)
        except Exception:  # the worker died, or the request ran too long
            status = 503
            headers = [(b"content-type", b"text/plain; charset=utf-8"), *SECURITY_HEADERS]
            body = b"The server could not answer in time: try again shortly.\n"
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer_of(self, worker: _Worker, scope: dict[str, Any]) -> tuple[int, list, bytes]:
        """The worker's answer to ``scope``, read once its pipe is readable. The worker goes back
        to the idle queue when it has answered (also after a timeout); one that died is
        replaced."""
        loop = asyncio.get_running_loop()
        try:
            worker.conn.send_bytes(pickle.dumps(scope, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            self._later(self._replace(worker))
            raise
        readable: asyncio.Future = loop.create_future()
        fd = worker.conn.fileno()

        def ready() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(fd, ready)
        try:
            await asyncio.wait_for(asyncio.shield(readable), REQUEST_SECONDS)
        except TimeoutError:
            self._later(self._recover(worker, readable))
            raise
        loop.remove_reader(fd)
        try:
            answer = pickle.loads(worker.conn.recv_bytes())
        except (EOFError, OSError):
            self._later(self._replace(worker))
            raise
        assert self._idle is not None
        self._idle.put_nowait(worker)
        return answer

    def _later(self, job: Coroutine[Any, Any, None]) -> None:
        """Run ``job`` in the background (kept referenced until it is done)."""
        task = asyncio.get_running_loop().create_task(job)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def _recover(self, worker: _Worker, readable: asyncio.Future) -> None:
        """After a timeout: take the late answer off the pipe, then lend the worker again."""
        await readable
        asyncio.get_running_loop().remove_reader(worker.conn.fileno())
        try:
            worker.conn.recv_bytes()
        except (EOFError, OSError):
            await self._replace(worker)
            return
        assert self._idle is not None
        self._idle.put_nowait(worker)

    async def _replace(self, worker: _Worker) -> None:
        """A worker died: start another (in a thread: starting takes seconds) and lend it."""
        worker.stop()
        loop = asyncio.get_running_loop()
        fresh = await loop.run_in_executor(None, _Worker, self.config)
        await loop.run_in_executor(None, fresh.wait_ready, self.START_SECONDS)
        self._all = [w for w in self._all if w is not worker] + [fresh]
        assert self._idle is not None
        self._idle.put_nowait(fresh)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
