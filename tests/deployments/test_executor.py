"""Executor specs: the n_workers shortcut, and problems named by their option."""

from __future__ import annotations

import pytest

from tideflow.deployments import ExecutorSpec
from tideflow.errors import DeploymentError


def test_the_n_workers_shortcut_goes_into_cluster_kwargs() -> None:
    spec = ExecutorSpec.from_dict({"type": "dask", "n_workers": 2, "cluster_kwargs": {"x": 1}})
    assert spec == ExecutorSpec(type="dask", cluster_kwargs={"x": 1, "n_workers": 2})


def test_a_type_name_alone_is_a_spec() -> None:
    assert ExecutorSpec.from_dict("local_dask") == ExecutorSpec(type="local_dask")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "dask", "address": "tcp://h:8786", "n_workers": 2}, "executor.address: connects"),
        ({"type": "local", "num_workers": 4}, "executor.num_workers: applies only to type"),
        ({"type": "local_dask", "scheduler": "greenlets"}, "'greenlets' is not one of threads"),
        ({"type": "dask", "cluster_class": "SLURMCluster"}, "expected an import path such as"),
        ({"type": "dask", "workers": 2}, "executor.workers: unknown field; did you mean"),
        ({"scheduler": "threads"}, "executor.type: missing; give one of local, local_dask, dask"),
        ({"type": "dask", "n_workers": 2, "cluster_kwargs": {"n_workers": 3}}, "differs from"),
    ],
)
def test_bad_executor_specs_name_the_option(data: dict[str, object], message: str) -> None:
    with pytest.raises(DeploymentError) as caught:
        ExecutorSpec.from_dict(data)
    assert message in str(caught.value)


def test_a_spec_built_in_code_is_checked_too() -> None:
    with pytest.raises(DeploymentError) as caught:
        ExecutorSpec(type="local", num_workers=4)
    assert (
        str(caught.value) == "executor.num_workers: applies only to type 'local_dask', not 'local'"
    )


def test_to_dict_writes_the_type_and_the_options_that_are_set() -> None:
    spec = ExecutorSpec(type="dask", cluster_kwargs={"n_workers": 2})
    assert spec.to_dict() == {"type": "dask", "cluster_kwargs": {"n_workers": 2}}
    assert ExecutorSpec.from_dict(spec.to_dict()) == spec
