"""Tasks and resource managers of ``test_prefect1_extras.py``, pickled by value (see conftest)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tideflow import context, resource_manager, task
from tideflow.utilities.logging import get_logger


@task
def log_and_use(password: str) -> int:
    context.get("logger").info("connecting with password %s", password)
    return len(password)


@task
def fail_with(password: str) -> None:
    raise RuntimeError(f"login refused for password {password}")


@task
def log_elsewhere(marker: str) -> str:
    get_logger("etl").info("get_logger line %s", marker)
    logging.getLogger("thirdparty.lib").warning("library line %s", marker)
    return marker


@resource_manager
class Ledger:
    """A resource that writes what happens to it into a file (visible across processes)."""

    def __init__(self, path: str, fail_setup: bool = False) -> None:
        self.path = path
        self.fail_setup = fail_setup

    def note(self, line: str) -> None:
        with open(self.path, "a") as f:
            f.write(line + "\n")

    def setup(self) -> str:
        if self.fail_setup:
            raise RuntimeError("no ledger today")
        self.note("setup")
        return self.path

    def cleanup(self, resource: str) -> None:
        self.note(f"cleanup {Path(resource).name}")


@task
def write(path: str, line: str) -> str:
    with open(path, "a") as f:
        f.write(line + "\n")
    return line


@task
def explode(path: str) -> None:
    with open(path, "a") as f:
        f.write("explode\n")
    raise ValueError("boom inside the block")


@task
def after(value: Any) -> Any:
    return value
