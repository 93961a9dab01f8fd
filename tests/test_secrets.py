"""Secrets: where ``Secret(name).get()`` looks, the private secrets file, and masking."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from tideflow import Flow, context, task
from tideflow.client import Secret
from tideflow.client.secrets import Secret as SecretAtPrefectPath
from tideflow.secrets import (
    MaskSecrets,
    SecretNotFoundError,
    SecretsFileError,
    _register_masked_env,
    mask,
    register_secret,
)
from tideflow.tasks.secrets import EnvVarSecret, PrefectSecret


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    """This test's TIDEFLOW_HOME."""
    return _isolated_home


def write_secrets(home: Path, text: str, mode: int = 0o600) -> Path:
    path = home / "secrets.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_prefect_1_s_import_paths_give_the_same_secret() -> None:
    assert Secret is SecretAtPrefectPath


def test_a_secret_comes_from_tideflow_s_variable_before_prefect_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PREFECT__CONTEXT__SECRETS__API_TOKEN", "from-prefect-var")
    assert Secret("API_TOKEN").get() == "from-prefect-var"
    monkeypatch.setenv("TIDEFLOW__CONTEXT__SECRETS__API_TOKEN", "from-tideflow-var")
    assert Secret("API_TOKEN").get() == "from-tideflow-var"


def test_a_secret_in_the_run_context_wins() -> None:
    with context(secrets={"API_TOKEN": "from-context"}):
        assert Secret("API_TOKEN").get() == "from-context"


def test_a_secret_comes_from_the_private_secrets_file(home: Path) -> None:
    write_secrets(home, 'API_TOKEN = "from-file"\nDB = { user = "u", password = "p1234" }\n')
    assert Secret("API_TOKEN").get() == "from-file"
    assert Secret("DB").get() == {"user": "u", "password": "p1234"}
    assert Secret("API_TOKEN").exists()
    assert not Secret("NOWHERE").exists()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_secrets_file_others_may_read_is_refused_with_the_chmod_to_fix_it(
    home: Path, mode: int
) -> None:
    path = write_secrets(home, 'API_TOKEN = "leaky"\n', mode)
    with pytest.raises(SecretsFileError) as caught:
        Secret("API_TOKEN").get()
    assert str(caught.value).endswith(f"chmod 600 {path}")
    assert "\n" not in str(caught.value)


def test_a_secrets_file_that_is_not_toml_is_named_in_the_error(home: Path) -> None:
    path = write_secrets(home, "API_TOKEN = \n")
    with pytest.raises(SecretsFileError, match=f"cannot read the secrets file {path}"):
        Secret("API_TOKEN").get()


def test_a_missing_secret_says_where_it_was_looked_for(home: Path) -> None:
    with pytest.raises(SecretNotFoundError) as caught:
        Secret("MISSING").get()
    text = str(caught.value)
    assert "TIDEFLOW__CONTEXT__SECRETS__MISSING" in text
    assert str(home / "secrets.toml") in text
    assert "no such file" in text
    write_secrets(home, 'OTHER = "x"\n')
    with pytest.raises(SecretNotFoundError, match="not in it"):
        Secret("MISSING").get()


# -- masking --------------------------------------------------------------------------------------


def test_masking_replaces_every_known_value_longest_first() -> None:
    register_secret("abcd-secret")
    register_secret("abcd-secret-longer")
    assert mask("a abcd-secret-longer b abcd-secret") == "a **** b ****"


def test_values_too_short_to_be_secrets_are_not_masked() -> None:
    register_secret("xyz")
    assert mask("xyz marks the spot") == "xyz marks the spot"


def test_the_strings_inside_a_secret_table_are_masked() -> None:
    register_secret({"user": "table-user-1", "keys": ["table-key-22"]})
    assert mask("table-user-1 / table-key-22") == "**** / ****"


def test_the_mask_filter_masks_messages_arguments_and_tracebacks() -> None:
    register_secret("filter-secret-9")
    try:
        raise ValueError("bad filter-secret-9")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, "f", 1, "got %s", ("filter-secret-9",), sys.exc_info()
        )
    assert MaskSecrets().filter(record)
    assert record.getMessage() == "got ****"
    assert "filter-secret-9" not in (record.exc_text or "")
    assert "ValueError: bad ****" in (record.exc_text or "")


def test_a_run_process_masks_the_variables_the_service_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "env-masked-value")
    monkeypatch.setenv("TIDEFLOW_MASKED_ENV", "DB_PASSWORD,UNSET_ONE")
    monkeypatch.delenv("UNSET_ONE", raising=False)
    _register_masked_env()
    assert mask("pw=env-masked-value") == "pw=****"


# -- the secret tasks ------------------------------------------------------------------------------


def test_prefect_secret_takes_its_name_when_made_or_when_called() -> None:
    @task
    def show(value: str) -> str:
        return value

    with Flow("names") as flow:
        made = show(PrefectSecret("TOKEN_A"))
        called = show(PrefectSecret()(name="TOKEN_B"))
    state = flow.run(context={"secrets": {"TOKEN_A": "value-a", "TOKEN_B": "value-b"}})
    assert (state.result[made].result, state.result[called].result) == ("value-a", "value-b")


def test_a_missing_secret_fails_its_task_saying_so() -> None:
    with Flow("missing") as flow:
        secret = PrefectSecret("NOT_SET_ANYWHERE")()
    state = flow.run()
    assert state.result[secret].is_failed()
    assert "NOT_SET_ANYWHERE" in (state.result[secret].message or "")


def test_env_var_secret_casts_defaults_to_none_or_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT_NUMBER", "5432")
    assert EnvVarSecret("PORT_NUMBER", cast=int).run() == 5432
    assert EnvVarSecret("NO_SUCH_VAR_X").run() is None
    with pytest.raises(ValueError, match="'NO_SUCH_VAR_X' is not set"):
        EnvVarSecret("NO_SUCH_VAR_X", raise_if_missing=True).run()
    assert os.environ["PORT_NUMBER"] == "5432"


def test_secret_tasks_never_checkpoint() -> None:
    assert PrefectSecret("X", checkpoint=True).checkpoint is False
    assert EnvVarSecret("X", checkpoint=True).checkpoint is False


def test_a_secret_task_is_never_written_through_a_result_or_cached(tmp_path: Path) -> None:
    from datetime import timedelta

    from tideflow.engine.results import LocalResult

    results = tmp_path / "results"

    @task
    def use(password: str) -> int:
        return len(password)

    secret = PrefectSecret("VAULT_TOKEN", cache_for=timedelta(hours=1))
    with Flow("persisting", result=LocalResult(dir=str(results))) as flow:
        out = use(secret)
    state = flow.run(context={"secrets": {"VAULT_TOKEN": "s3cr3t-value"}}, store=None)
    assert state.result[out].result == len("s3cr3t-value")
    written = [p for p in results.rglob("*") if p.is_file()]
    assert written, "the ordinary task's value was written through the flow's result"
    assert not any(b"s3cr3t-value" in p.read_bytes() for p in written)
    home = Path(os.environ["TIDEFLOW_HOME"])
    kept = [p for p in home.rglob("*") if p.is_file()]
    assert not any(b"s3cr3t-value" in p.read_bytes() for p in kept), "not in the cache either"
