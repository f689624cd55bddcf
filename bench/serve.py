"""Serve: concurrent clients against `newssearch serve` over loopback; p50/p95 per endpoint.

    python bench/serve.py                          # 30,000 articles, 8 clients, 20 s
    python bench/serve.py --keep /tmp/serve-bench  # keep (and next time reuse) corpus and index
    python bench/serve.py --docs 10000 --clients 4 --seconds 10

The corpus is bench/scale.py's: headlines from ../shared/data (title as text, outlet as source,
date), every tenth article a 10kGNAD body. The server runs as its own process
(`python -m newssearch serve`), as a user would start it; the clients are threads of this process,
each with one keep-alive HTTP connection, each request picked at random from a fixed mix of
pages and API calls (queries from scale.py's query mix, ids and names from the index). Every
non-200 answer and every failed connection counts as an error. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from newssearch import Config, NewsSearch  # noqa: E402
from scale import query_mix, write_corpus  # noqa: E402

ENDPOINTS = (
    "search page (faceted)",
    "search page, person filter",
    "api/search",
    "api/search facets=all",
    "article page",
    "api/articles/{id}/similar",
    "entity page",
    "api/entities",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(folder: Path, docs: int) -> Config:
    """The corpus and index in ``folder`` (reused when a previous run left them complete)."""
    corpus, config = folder / "corpus.jsonl", Config(index=folder / "index")
    if (folder / "built").exists():
        print(f"reusing {config.index}", file=sys.stderr)
        return config
    folder.mkdir(parents=True, exist_ok=True)
    write_corpus(corpus, docs)
    start = time.perf_counter()
    with NewsSearch(config.index, config) as ns:
        report = ns.index([corpus], rebuild=True)
    print(f"{report.summary()} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    (folder / "built").write_text(str(docs))
    return config


def request_mix(config: Config, corpus: Path) -> list[tuple[str, str]]:
    """(endpoint, path) pairs to draw from."""
    rng = random.Random(11)
    with NewsSearch(config.index, config) as ns:
        people = [n for n, _ in ns.entities(["person"], top=50)["person"]]
        ids = [hit.id for hit in ns.search("*", limit=200, sort="date").hits]
    queries = [q["text"] for q in query_mix(corpus)]
    out = []
    for i in range(400):
        qs = {"q": rng.choice(queries)}
        kind = ENDPOINTS[i % len(ENDPOINTS)]
        if kind == "search page (faceted)":
            path = "/?" + urllib.parse.urlencode(qs)
        elif kind == "search page, person filter":
            path = "/?" + urllib.parse.urlencode({"q": "*", "person": rng.choice(people)})
        elif kind == "api/search":
            path = "/api/search?" + urllib.parse.urlencode(qs)
        elif kind == "api/search facets=all":
            path = "/api/search?" + urllib.parse.urlencode({**qs, "facets": "all"})
        elif kind == "article page":
            path = "/articles/" + urllib.parse.quote(rng.choice(ids))
        elif kind == "api/articles/{id}/similar":
            path = f"/api/articles/{urllib.parse.quote(rng.choice(ids))}/similar"
        elif kind == "entity page":
            path = "/entities/person/" + urllib.parse.quote(rng.choice(people))
        else:
            path = "/api/entities?top=20"
        out.append((kind, path))
    return out


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its children (Linux /proc).

    Unlike latency, this hardly depends on what else runs on the machine: CPU per request is
    what decides how many requests the cores can serve. 0.0 where /proc is not there.
    """
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, pids = 0.0, {pid}
    try:
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    except OSError:
        return 0.0
    grew = True
    while grew:  # the server's descendants: serve's worker processes
        found = {p for p, (ppid, _) in stats.items() if ppid in pids}
        grew = not found <= pids
        pids |= found
    for p in pids:
        if p in stats:
            total += stats[p][1] / tick
    return total


def client(port: int, mix, seconds: float, seed: int, times: dict, errors: list) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        kind, path = rng.choice(mix)
        start = time.perf_counter()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{kind} {path}: {exc!r}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        ms = (time.perf_counter() - start) * 1000
        if status != 200:
            errors.append(f"{kind} {path}: HTTP {status}")
        times.setdefault(kind, []).append(ms)
    conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=30_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) corpus and index here")
    parser.add_argument(
        "--workers", type=int, help="serve --workers (default: serve's own, one per core)"
    )
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="serve-bench-"))
    config = build(folder, args.docs)
    mix = request_mix(config, folder / "corpus.jsonl")
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "newssearch",
            "serve",
            "--index",
            str(config.index),
            "--port",
            str(port),
            *(["--workers", str(args.workers)] if args.workers else []),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        # one pass over the mix's kinds first: the first facet query reads the facet columns
        warm: dict[str, list[float]] = {}
        for kind in ENDPOINTS * (2 * (args.workers or os.cpu_count() or 1)):  # each worker warm
            path = next(p for k, p in mix if k == kind)
            client(port, [(kind, path)], 0.001, 0, warm, [])
        times: dict[str, list[float]] = {}
        errors: list[str] = []
        threads = [
            threading.Thread(target=client, args=(port, mix, args.seconds, i, times, errors))
            for i in range(args.clients)
        ]
        load_start = os.getloadavg()[0]
        cpu_before = server_cpu(server.pid)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cpu = server_cpu(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=30)
    total = sum(len(v) for v in times.values())
    print(
        f"{args.docs:,} articles, {args.clients} clients, {args.seconds:g} s, loopback: "
        f"{total:,} requests ({total / args.seconds:,.0f}/s), {len(errors)} errors; "
        f"server processes: {args.workers or 'serve default'}; "
        f"server CPU {cpu:.1f} s, {cpu * 1000 / max(total, 1):.1f} ms per request; "
        f"{os.cpu_count()} cores, 1-minute load average at the start {load_start:.1f}, "
        f"at the end {os.getloadavg()[0]:.1f}"
    )
    print()
    print("| endpoint | requests | p50 ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for kind in ENDPOINTS:
        ms = sorted(times.get(kind, []))
        if not ms:
            continue
        q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
        print(f"| {kind} | {len(ms):,} | {q[49]:.0f} | {q[94]:.0f} | {ms[-1]:.0f} |")
    for e in errors[:10]:
        print("error:", e)
    print(json.dumps({"errors": len(errors), "requests": total}))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
