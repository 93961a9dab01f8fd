"""``with tags(...)``: tags for the tasks made or called in the block."""

from __future__ import annotations

import pytest

from tideflow import Flow, Task, TideflowError, tags, task


@task(tags=["own"])
def extract() -> int:
    return 1


def test_tasks_called_in_nested_blocks_get_every_block_s_tags_and_keep_their_own() -> None:
    with Flow("tagged") as flow:
        with tags("etl"):
            outer = extract()
            with tags("nightly", "db"):
                inner = extract()
        outside = extract()
    assert inner.tags == {"own", "etl", "nightly", "db"}
    assert outer.tags == {"own", "etl"}
    assert outside.tags == {"own"}
    assert flow.get_tasks(tags=["nightly"]) == [inner]
    assert flow.graph.nodes[flow.key(inner)].tags == ("db", "etl", "nightly", "own")


def test_tasks_made_in_a_block_get_its_tags() -> None:
    with tags("made"):
        made = Task(name="made")

        @task
        def decorated() -> None:
            pass

    assert made.tags == {"made"}
    assert decorated.tags == {"made"}


def test_a_tag_must_be_a_string() -> None:
    with pytest.raises(TideflowError, match=r"tags\('etl', 'nightly'\)"), tags(["etl"]):  # type: ignore[arg-type]
        pass
