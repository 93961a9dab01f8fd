"""``tideflow.config``: defaults, the config file, the environment, and reloading."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import tideflow
from tideflow.configuration import Config, ConfigError, get_config, load_config, reload_config


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    """This test's TIDEFLOW_HOME."""
    return _isolated_home


@pytest.fixture(autouse=True)
def _fresh_config() -> Iterator[None]:
    yield
    with contextlib.suppress(ConfigError):  # a test's bad file is still there
        reload_config()  # leave the process's configuration as the environment says


def test_defaults_read_as_attributes() -> None:
    config = load_config({})
    assert config.logging.level == "INFO"
    assert config.logging.extra_loggers == []
    assert config["notifications"]["smtp_port"] == 587


def test_the_file_overrides_defaults_and_the_environment_overrides_the_file(
    home: Path,
) -> None:
    (home / "config.toml").write_text(
        '[logging]\nlevel = "DEBUG"\nextra_loggers = ["boto3"]\n[team]\nname = "data"\n'
    )
    config = load_config({"TIDEFLOW__LOGGING__LEVEL": "WARNING"})
    assert config.logging.level == "WARNING"
    assert config.logging.extra_loggers == ["boto3"]
    assert config.team.name == "data"


def test_environment_values_are_toml_literals_where_they_can_be() -> None:
    config = load_config(
        {
            "TIDEFLOW__LOGGING__EXTRA_LOGGERS": '["boto3", "my_lib"]',
            "TIDEFLOW__FLOWS__CHECKPOINTING": "true",
            "TIDEFLOW__TASKS__DEFAULTS__MAX_RETRIES": "3",
            "TIDEFLOW__SERVER__HOST": "db.example",
        }
    )
    assert config.logging.extra_loggers == ["boto3", "my_lib"]
    assert config.flows.checkpointing is True
    assert config.tasks.defaults.max_retries == 3
    assert config.server.host == "db.example"


def test_prefect_1_variables_are_read_and_tideflow_s_win() -> None:
    config = load_config(
        {"PREFECT__LOGGING__LEVEL": "DEBUG", "PREFECT__FLOWS__CHECKPOINTING": "true"}
    )
    assert (config.logging.level, config.flows.checkpointing) == ("DEBUG", True)
    both = load_config({"PREFECT__LOGGING__LEVEL": "DEBUG", "TIDEFLOW__LOGGING__LEVEL": "ERROR"})
    assert both.logging.level == "ERROR"


def test_secrets_never_enter_the_configuration() -> None:
    config = load_config({"TIDEFLOW__CONTEXT__SECRETS__TOKEN": "hidden-value"})
    assert "hidden-value" not in repr(config)


def test_tideflow_config_is_read_once_and_reload_updates_it_in_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tideflow.config
    assert config is get_config()
    monkeypatch.setenv("TIDEFLOW__LOGGING__LEVEL", "ERROR")
    assert config.logging.level != "ERROR", "read once, not at every access"
    reload_config()
    assert config.logging.level == "ERROR"
    assert tideflow.config is config


def test_a_config_file_that_is_not_toml_is_one_line_naming_it(home: Path) -> None:
    path = home / "config.toml"
    path.write_text("[logging\n")
    with pytest.raises(ConfigError) as caught:
        load_config({})
    assert str(caught.value).startswith(f"{path} is not valid TOML")
    assert "\n" not in str(caught.value)


def test_tideflow_config_path_names_another_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text('[logging]\nlevel = "DEBUG"\n')
    monkeypatch.setenv("TIDEFLOW_CONFIG_PATH", str(other))
    assert load_config({}).logging.level == "DEBUG"


def test_a_missing_key_says_how_to_set_it() -> None:
    with pytest.raises(AttributeError, match=r"TIDEFLOW__\.\.\.__NOPE"):
        Config({}).nope  # noqa: B018
