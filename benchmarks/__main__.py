"""Run every benchmark and print (or write) the markdown tables: ``python -m benchmarks``.

``--output BENCHMARKS.md`` also writes them to that file, with the machine and the command.
Each suite runs in a fresh interpreter, so no suite's figures depend on what an earlier one left
in memory (a larger heap makes every garbage collection, and so every run, slower).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import Row, machine, markdown

MARKER = "@@benchmark-rows@@"

SUITES = [
    ("Engine (LocalExecutor)", "benchmarks.bench_engine"),
    ("Control flow and loops (LocalExecutor)", "benchmarks.bench_control_flow"),
    ("Caching and targets (LocalExecutor)", "benchmarks.bench_caching"),
    ("Scheduled runs", "benchmarks.bench_schedule"),
    ("Executors", "benchmarks.bench_executors"),
    ("Recording runs", "benchmarks.bench_recording"),
    ("Run history", "benchmarks.bench_history"),
    ("Reference pipeline", "benchmarks.bench_reference"),
    ("The service", "benchmarks.bench_service"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, help="also write the tables to this file")
    parser.add_argument("--only", help="run only suites whose module name contains this")
    args = parser.parse_args()
    # Runs record by default: keep what the benchmarks record out of the user's home.
    os.environ["TIDEFLOW_HOME"] = tempfile.mkdtemp(prefix="tideflow-bench-")
    sections = []
    for title, module_name in SUITES:
        if args.only and args.only not in module_name:
            continue
        table = markdown(title, run_suite(module_name))
        print(table, "\n", flush=True)
        sections.append(table)
    if args.output:
        header = (
            "# Benchmarks\n\n"
            f"Latest run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.\n"
            "Command: `make bench` (`python -m benchmarks --output BENCHMARKS.md`). Each figure "
            "stands beside its floor (the same work without Tideflow), measured in the same run; "
            "times are the best of several repeats.\n\n"
        )
        args.output.write_text(header + "\n\n".join(sections) + "\n")


def run_suite(module_name: str) -> list[Row]:
    """``module_name.run()`` in a fresh interpreter; its rows. What it prints passes through."""
    code = (
        f"import dataclasses, json, {module_name} as suite\n"
        "rows = [dataclasses.asdict(row) for row in suite.run()]\n"
        f"print({MARKER!r} + json.dumps(rows))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, stdout=subprocess.PIPE, text=True
    )
    printed, _, rows = done.stdout.rpartition(MARKER)
    if printed.strip():
        print(printed.rstrip(), flush=True)
    return [Row(**fields) for fields in json.loads(rows)]


if __name__ == "__main__":
    main()
