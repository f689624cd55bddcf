"""Start-up: wall time of one `newssearch query` process, with and without importing NLTK.

    python bench/startup.py --index /tmp/serve-bench/index --runs 5

"without" is the command as it is; "with NLTK" runs the same command after
`import nltk.stem.snowball`, which is what the analyzer did before stemmer_de (it imported
NLTK's stemmer on first use). Runs alternate; prints the median and the spread per variant, and
the machine's 1-minute load average (other jobs on a shared machine slow both).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(code: str, args: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=600,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--query", default="Merkel")
    args = parser.parse_args()
    command = ["query", args.query, "--index", args.index]
    main_code = "import sys; from newssearch.cli import cli; cli(sys.argv[1:])"
    variants = {
        "newssearch query (stemmer_de)": main_code,
        "the same after import nltk.stem.snowball": "import nltk.stem.snowball; " + main_code,
        "python -c pass": "pass",
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.runs):
        for name, code in variants.items():
            times[name].append(run(code, command))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, {args.runs} runs each")
    print("| variant | median s | min s | max s |")
    print("|---|---:|---:|---:|")
    for name, ts in times.items():
        print(f"| {name} | {statistics.median(ts):.2f} | {min(ts):.2f} | {max(ts):.2f} |")


if __name__ == "__main__":
    main()
