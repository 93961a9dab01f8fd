"""A small example flow: `tideflow run examples/hello_flow.py:flow --param name=you`."""

from __future__ import annotations

from datetime import timedelta

from tideflow import Flow, Parameter, context, task


@task
def greet(name: str) -> str:
    greeting = f"Hello, {name}!"
    context.get("logger").info(greeting)
    return greeting


@task
def count_letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


@task
def shout(text: str) -> str:
    return text.upper()


_attempts = {"flaky": 0}


@task(max_retries=2, retry_delay=timedelta(seconds=0.2))
def flaky_total(letters: int, loud: str) -> str:
    """Fails on its first attempt to show a retry; succeeds on the second."""
    _attempts["flaky"] += 1
    if _attempts["flaky"] == 1:
        raise ConnectionError("a flaky network, on purpose")
    return f"{loud} ({letters} letters)"


with Flow("hello") as flow:
    name = Parameter("name", default="world")
    text = greet(name)
    summary = flaky_total(count_letters(text), shout(text))
