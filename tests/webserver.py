"""A real uvicorn server on a free loopback port, in a thread, for the HTTP and browser tests."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from newssearch import Config, EnrichConfig
from newssearch.web import create_app

PEOPLE = ["Angela Merkel", "Wladimir Putin", "Emmanuel Macron", "Xi Jinping"]
PLACES = ["Berlin", "Moskau", "Paris", "Peking"]
SOURCES = ["Der Standard", "Süddeutsche Zeitung", "FAZ"]
XSS_TITLE = "<script>alert(1)</script>"


def web_config(index: Path) -> Config:
    """The test server's config: no story grouping (the web corpus is one template with other
    names, dates and places, which as news would be wire copies of one story)."""
    return Config(index=index, enrich=EnrichConfig(stories=False))


#: The same for a `newssearch` command run in its own process.
WEB_CONFIG_YAML = "enrich:\n  stories: false\n"


def web_corpus(n: int = 36) -> list[dict]:
    """Small German news records: several people, places, sources and months, plus the XSS title."""
    records = []
    for i in range(n):
        a, b = PEOPLE[i % 4], PEOPLE[(i + 1) % 4]
        place = PLACES[(i + 2) % 4]
        day = dt.date(2015, 1, 5) + dt.timedelta(days=23 * i)
        records.append(
            {
                "id": f"g{i:02d}",
                "title": f"{a.split()[-1]} trifft {b.split()[-1]} in {place}",
                "date": day.isoformat(),
                "source": SOURCES[i % 3],
                "url": f"https://example.org/artikel/{i}",
                "text": (
                    f"{a} und {b} haben sich am Montag in {place} getroffen. "
                    f"Die beiden sprachen über Handel, Energie und die Lage in der Ukraine. "
                    f"{a.split()[-1]} sagte nach dem Gipfel, man wolle die Zusammenarbeit "
                    f"vertiefen. Beobachter in {place} sprachen von einem Treffen Nummer {i}."
                ),
            }
        )
    records.append(
        {
            "id": "xss",
            "title": XSS_TITLE,
            "date": "2016-06-01",
            "source": "<b>Quelle</b>",
            "url": "javascript:alert(2)",
            "text": "Ein Artikel mit <img src=x onerror=alert(3)> im Text über Angela Merkel.",
        }
    )
    return records


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(config: Config, pool_size: int = 4) -> Iterator[str]:
    """Serve ``config``'s index on 127.0.0.1 in a thread; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, pool_size=pool_size),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start within 30 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def get(url: str, timeout: float = 30) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode("utf-8")


def get_json(url: str, timeout: float = 30) -> tuple[int, Any]:
    """(status, decoded JSON body) of a GET."""
    status, headers, body = get(url, timeout)
    assert headers.get("content-type", "").startswith("application/json"), (url, headers)
    return status, json.loads(body)
