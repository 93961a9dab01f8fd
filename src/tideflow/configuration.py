"""``tideflow.config``: settings from defaults, a config file and the environment.

The configuration is a nested mapping whose sections read as attributes
(``config.logging.level``). It is built once per process, the first time it is used, from, lowest
first:

1. the defaults below;
2. the TOML file ``$TIDEFLOW_HOME/config.toml`` (``TIDEFLOW_HOME`` defaults to ``~/.tideflow``),
   or the file named by ``TIDEFLOW_CONFIG_PATH``; a missing file is no error;
3. environment variables ``TIDEFLOW__SECTION__KEY=value`` (double underscores between levels,
   any case; the Prefect 1 spelling ``PREFECT__SECTION__KEY`` is read too, Tideflow's wins). A
   value is read as a TOML literal where it is one (``true``, ``3``, ``["boto3", "my_lib"]``)
   and as the text otherwise.

Secrets are not configuration: ``TIDEFLOW__CONTEXT__SECRETS__NAME`` is read by
:class:`tideflow.client.Secret` only and never appears here, so printing the configuration
shows no secret.

:func:`reload_config` reads everything again, updating the one ``config`` object in place (code
that kept a reference sees the new values); tests use it after changing the environment.

>>> from tideflow.configuration import Config
>>> settings = Config({"logging": {"level": "INFO"}})
>>> settings.logging.level
'INFO'
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tideflow.errors import TideflowError

__all__ = [
    "DEFAULTS",
    "Config",
    "ConfigError",
    "config_path",
    "get_config",
    "load_config",
    "reload_config",
    "tideflow_home",
]

ENV_PREFIXES = ("PREFECT__", "TIDEFLOW__")
"""Read in this order, so a ``TIDEFLOW__`` variable wins over its ``PREFECT__`` twin."""

DEFAULTS: Mapping[str, Any] = {
    "logging": {
        "level": "INFO",
        "extra_loggers": [],
    },
    "notifications": {
        "timeout": 10.0,
        "smtp_host": "smtp.gmail.com",
        "smtp_port": 587,
        "smtp_starttls": True,
    },
}


class ConfigError(TideflowError, ValueError):
    """The configuration file cannot be read."""


class Config(dict[str, Any]):
    """A dict whose keys also read as attributes; nested dicts are ``Config`` too."""

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        for key, value in (data or {}).items():
            self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, Mapping) and not isinstance(value, Config):
            value = Config(value)
        super().__setitem__(key, value)

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(
                f"the configuration has no {key!r}; set it in config.toml or as "
                f"TIDEFLOW__...__{key.upper()}"
            ) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def to_dict(self) -> dict[str, Any]:
        """A plain-dict copy."""
        return {k: v.to_dict() if isinstance(v, Config) else v for k, v in self.items()}


def tideflow_home() -> Path:
    """``$TIDEFLOW_HOME``, default ``~/.tideflow`` (not created here)."""
    return Path(os.environ.get("TIDEFLOW_HOME") or "~/.tideflow").expanduser()


def config_path() -> Path:
    """The configuration file: ``$TIDEFLOW_CONFIG_PATH`` or ``$TIDEFLOW_HOME/config.toml``."""
    given = os.environ.get("TIDEFLOW_CONFIG_PATH")
    return Path(given).expanduser() if given else tideflow_home() / "config.toml"


def _merge(into: dict[str, Any], data: Mapping[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, Mapping):
            into[key] = {}
            _merge(into[key], value)
        else:
            into[key] = value


def _literal(text: str) -> Any:
    """``text`` as a TOML literal (a bool, number, list, ...), else the text itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for prefix in ENV_PREFIXES:
        for name, text in environ.items():
            if not name.upper().startswith(prefix):
                continue
            path = [part.lower() for part in name[len(prefix) :].split("__")]
            if not all(path) or path[:2] == ["context", "secrets"]:
                continue  # malformed, or a secret (read by Secret only)
            node = found
            for part in path[:-1]:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
            node[path[-1]] = _literal(text)
    return found


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """The configuration from the defaults, the file and ``environ`` (default: this process's).

    Raises:
        ConfigError: the file exists but is not valid TOML, naming the file and the problem.
    """
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    _merge(merged, DEFAULTS)
    path = config_path()
    try:
        text = path.read_text()
    except (FileNotFoundError, NotADirectoryError):  # no file (a bad home is the store's to say)
        text = ""
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration file {path}: {exc}") from None
    try:
        _merge(merged, tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}; fix or remove it") from None
    _merge(merged, _from_environment(environ))
    return Config(merged)


_config: Config | None = None


def get_config() -> Config:
    """This process's configuration, read the first time it is asked for."""
    global _config
    if _config is None:
        _config = load_config()
    return _config


def reload_config() -> Config:
    """Read the configuration again into the one ``config`` object and return it."""
    fresh = load_config()
    current = get_config()
    current.clear()
    current.update(fresh)
    return current


def __getattr__(name: str) -> Any:
    # ``config`` is read on first use, not when this module is imported: importing Tideflow
    # never touches the file, and a bad file is reported where the configuration is used.
    if name == "config":
        return get_config()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
