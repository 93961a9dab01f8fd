"""Prefect 1's module paths for secrets, configuration, logging, tags, resource managers and
notifications resolve under ``tideflow`` to the same objects."""

from __future__ import annotations

import importlib

import pytest

import tideflow
from tideflow.configuration import get_config
from tideflow.resources import resource_manager
from tideflow.secrets import Secret
from tideflow.tag_context import tags
from tideflow.utilities import notifications


@pytest.mark.parametrize(
    ("module", "name", "expected"),
    [
        ("tideflow.client", "Secret", Secret),
        ("tideflow.client.secrets", "Secret", Secret),
        ("tideflow.tags", None, tags),
        ("tideflow.resource_manager", None, resource_manager),
        ("tideflow.utilities.notifications", "slack_notifier", notifications.slack_notifier),
        ("tideflow.utilities.notifications", "gmail_notifier", notifications.gmail_notifier),
        ("tideflow.utilities.notifications", "callback_factory", notifications.callback_factory),
    ],
)
def test_prefect_1_s_path_gives_tideflow_s_object(
    module: str, name: str | None, expected: object
) -> None:
    if name is None:  # an attribute of the package, as prefect.tags was
        package, _, attribute = module.rpartition(".")
        assert getattr(importlib.import_module(package), attribute) is expected
    else:
        assert getattr(importlib.import_module(module), name) is expected


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("tideflow.tasks.secrets", ["PrefectSecret", "EnvVarSecret", "SecretBase"]),
        ("tideflow.utilities.logging", ["get_logger"]),
    ],
)
def test_prefect_1_s_modules_have_their_names(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    assert all(callable(getattr(imported, name)) for name in names)


def test_tideflow_config_is_the_configuration() -> None:
    assert tideflow.config is get_config()
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        tideflow.nothing_here  # noqa: B018
