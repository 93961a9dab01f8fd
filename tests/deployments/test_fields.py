"""The one table of deployment fields: everything else agrees with it, and its rules hold."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import tideflow.deployments
from tideflow.deployments import Deployment, Entrypoint, deployment_from_options
from tideflow.deployments.fields import FIELDS, TOML_KEYS, Field
from tideflow.deployments.toml import READERS
from tideflow.errors import DeploymentError

FLOW = Entrypoint("flow", "/srv/etl.py:flow")

ALLOW_WITH_MAX_ACTIVE = (
    'overlap "allow" means no limit; use overlap = "queue" with max_active = N to run up to N '
    "at once"
)


# -- the table and the rest agree ----------------------------------------------------------------


def test_the_table_and_the_deployment_dataclass_have_the_same_fields_in_the_same_order() -> None:
    attributes = [attribute.name for attribute in dataclasses.fields(Deployment)]
    assert attributes == ["name", *(spec.name for spec in FIELDS)]


@pytest.mark.parametrize("spec", FIELDS, ids=lambda spec: spec.name)
def test_the_deployment_takes_each_default_from_the_table(spec: Field) -> None:
    attribute = {a.name: a for a in dataclasses.fields(Deployment)}[spec.name]
    if spec.required:
        assert attribute.default is dataclasses.MISSING
        assert attribute.default_factory is dataclasses.MISSING
        return
    if spec.factory is not None:
        assert attribute.default_factory is spec.factory
    else:
        assert attribute.default == spec.default
    assert getattr(Deployment(name="x", entrypoint=FLOW), spec.name) == spec.fresh_default()
    assert attribute.metadata["doc"] == spec.doc


@pytest.mark.parametrize("spec", FIELDS, ids=lambda spec: spec.name)
def test_each_field_has_a_one_line_doc(spec: Field) -> None:
    assert spec.doc.strip()
    assert "\n" not in spec.doc
    assert spec.doc.endswith(".")


def test_the_toml_keys_are_those_of_the_fields_in_table_order() -> None:
    assert tuple(key for spec in FIELDS for key in spec.keys) == TOML_KEYS
    assert TOML_KEYS[:9] == (
        "flow",
        "callable",
        "command",
        "kind",
        "cron",
        "interval",
        "rrule",
        "timezone",
        "start",
    )
    assert "max_active" in TOML_KEYS


def test_each_field_built_from_other_toml_keys_has_a_reader() -> None:
    assert list(READERS) == [spec.name for spec in FIELDS if spec.toml_keys is not None]


@pytest.mark.parametrize("key", TOML_KEYS)
def test_the_package_docstring_documents_every_toml_key(key: str) -> None:
    assert f"{key} = " in (tideflow.deployments.__doc__ or "")


# tideflow deploy options that are spelled differently from the TOML key.
OPTION_OF = {"flow": "entrypoint_kind", "callable": "target", "command": "target"}
OPTION_OF |= {"parameters": "params"}


@pytest.mark.parametrize("key", TOML_KEYS)
def test_deploy_options_have_a_keyword_for_every_toml_key(key: str) -> None:
    keywords = inspect.signature(deployment_from_options).parameters
    assert OPTION_OF.get(key, key) in keywords


def test_to_dict_writes_every_field_of_the_table() -> None:
    deployment = Deployment(
        name="x", entrypoint=FLOW, overlap="queue", max_active=2, secret_env={"A": "B"}
    )
    assert list(deployment.to_dict()) == ["version", "name", *(spec.name for spec in FIELDS)]


def test_to_dict_leaves_out_an_empty_secret_env_so_older_specs_look_unchanged() -> None:
    assert "secret_env" not in Deployment(name="x", entrypoint=FLOW).to_dict()


# -- max_active ----------------------------------------------------------------------------------


@pytest.mark.parametrize("max_active", [1, 2, 100])
def test_max_active_is_a_whole_number_of_at_least_one(max_active: int) -> None:
    deployment = Deployment(name="x", entrypoint=FLOW, overlap="queue", max_active=max_active)
    assert deployment.max_active == max_active


@pytest.mark.parametrize("max_active", [0, -1, 1.5, "2", True])
def test_max_active_refuses_anything_but_a_whole_number_of_at_least_one(
    max_active: object,
) -> None:
    with pytest.raises(DeploymentError) as caught:
        Deployment(name="x", entrypoint=FLOW, max_active=max_active)  # type: ignore[arg-type]
    assert caught.value.problems == [
        f"deployment 'x', field 'max_active': expected a whole number, 1 or more, "
        f"got {max_active!r}"
    ]


def test_a_deployment_with_overlap_allow_refuses_max_active() -> None:
    with pytest.raises(DeploymentError) as caught:
        Deployment(name="x", entrypoint=FLOW, overlap="allow", max_active=2)
    assert caught.value.problems == [f"deployment 'x', field 'max_active': {ALLOW_WITH_MAX_ACTIVE}"]


def test_a_deployment_with_overlap_allow_has_no_max_active_by_default() -> None:
    assert Deployment(name="x", entrypoint=FLOW, overlap="allow").max_active is None
