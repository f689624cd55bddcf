"""Worker processes for the reliability tests (run as a script, never collected by pytest).

    python stress_worker.py writer INDEX NAME SECONDS WORKDIR   # prints "given <n>" at the end
    python stress_worker.py reader INDEX SECONDS                # prints "queries <n>"
Any exception other than the documented lock timeout ends the process with a traceback.
"""

import json
import sys
import time
from pathlib import Path

from newssearch import (
    Config,
    IndexingConfig,
    IndexLockedError,
    NewsSearch,
    NewsSearchError,
)


def writer(index: str, name: str, seconds: float, workdir: str) -> None:
    config = Config(index=Path(index), indexing=IndexingConfig(lock_timeout=1.0, batch_size=7))
    given = batch = timeouts = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        path = Path(workdir) / f"{name}-{batch}.jsonl"
        docs = [
            {
                "id": f"{name}-{batch}-{i}",
                "text": f"Meldung {i} von {name} über Flüchtlinge in Wien",
            }
            for i in range(20)
        ]
        path.write_text("".join(json.dumps(d) + "\n" for d in docs), "utf-8")
        while True:  # a batch is given once it is accepted: retry after the documented timeout
            try:
                report = NewsSearch(config.index, config).index([path])
                assert report.added == 20, report.summary()
                break
            except IndexLockedError:
                timeouts += 1
        given += 20
        batch += 1
    print(f"given {given} timeouts {timeouts}")


def reader(index: str, seconds: float) -> None:
    config = Config(index=Path(index))
    done = 0
    deadline = time.monotonic() + seconds
    with NewsSearch(config.index, config) as ns:
        while time.monotonic() < deadline:
            try:
                result = ns.search("Flüchtlinge Wien", limit=5)
                assert result.total >= len(result.hits)
                ns.count()
            except NewsSearchError as exc:
                if "no index" not in str(exc):  # before the first commit there is nothing to read
                    raise
            done += 1
    print(f"queries {done}")


if __name__ == "__main__":
    role, *args = sys.argv[1:]
    if role == "writer":
        writer(args[0], args[1], float(args[2]), args[3])
    else:
        reader(args[0], float(args[1]))
