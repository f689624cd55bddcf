"""``newssearch serve --workers 2`` as a user starts it: one HTTP process, two worker processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from newssearch import NewsSearch
from tests.conftest import REPO, write_jsonl
from tests.webserver import (
    WEB_CONFIG_YAML,
    XSS_TITLE,
    free_port,
    get,
    get_json,
    web_config,
    web_corpus,
)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory):
    """Base URL of `newssearch serve --workers 2` over the web corpus, and the server process."""
    root = tmp_path_factory.mktemp("workers")
    config = web_config(root / "index")
    (root / "config.yaml").write_text(WEB_CONFIG_YAML, "utf-8")
    with NewsSearch(config.index, config) as ns:
        ns.index([write_jsonl(root / "corpus" / "web.jsonl", web_corpus())])
    port = free_port()
    command = [sys.executable, "-m", "newssearch", "serve", "--config", str(root / "config.yaml")]
    command += ["--index", str(config.index), "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(
        command,
        env=dict(os.environ, PYTHONPATH=str(REPO / "src")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120  # two worker processes start and warm up first
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"serve --workers 2 did not start: {server.communicate()}")
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _workers_of(server: subprocess.Popen) -> list[int]:
    """Process ids of the server's multiprocessing workers (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat[1]) == server.pid and b"spawn_main" in cmdline:
                found.append(int(entry.name))
    return found


def test_pages_api_and_errors_through_the_worker_processes(two_workers):
    base, server = two_workers
    status, headers, body = get(f"{base}/?q=Merkel")
    assert status == 200 and "Treffer" in body
    assert "default-src 'none'" in headers["content-security-policy"]
    assert XSS_TITLE not in body  # escaped by the worker's templates
    status, data = get_json(f"{base}/api/search?q=Putin&facets=person")
    assert status == 200 and data["total"] > 0 and data["facets"]["person"]
    status, data = get_json(f"{base}/api/articles/nope")
    assert status == 404 and "no article with id 'nope'" in data["error"]["message"]
    status, _, body = get(f"{base}/articles/g03")
    assert status == 200 and "Ähnliche Artikel" in body
    assert get(f"{base}/export?q=Merkel&format=csv")[0] == 200
    if Path("/proc").exists():
        assert len(_workers_of(server)) == 2


def test_concurrent_clients_all_get_their_own_answers(two_workers):
    base, _ = two_workers
    wanted = {name: name.split()[-1] for name in ("Angela Merkel", "Wladimir Putin")}
    errors: list[str] = []

    def client(name: str) -> None:
        for _ in range(15):
            query = urllib.parse.urlencode({"q": "*", "person": name})
            status, data = get_json(f"{base}/api/search?{query}&limit=100")
            if status != 200 or not all(name in hit["entities"]["person"] for hit in data["hits"]):
                errors.append(f"{name}: {status}")

    threads = [threading.Thread(target=client, args=(n,)) for n in wanted for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.skipif(not Path("/proc").exists(), reason="finds the worker processes in /proc")
def test_a_killed_worker_costs_one_503_at_most_and_is_replaced(two_workers):
    base, server = two_workers
    before = _workers_of(server)
    assert len(before) == 2
    os.kill(before[0], signal.SIGKILL)
    statuses = [get(f"{base}/api/search?q=Merkel")[0] for _ in range(6)]
    assert statuses.count(200) >= 5 and set(statuses) <= {200, 503}, statuses
    deadline = time.monotonic() + 120
    while len(_workers_of(server)) < 2 or before[0] in _workers_of(server):
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        time.sleep(0.2)
    assert [get(f"{base}/api/search?q=Putin")[0] for _ in range(6)] == [200] * 6
