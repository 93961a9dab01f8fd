# Tideflow: `make demo` and `make test` are the only commands a new user needs.
# Both create .venv when it is missing and (re)install when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --quiet --disable-pip-version-check

.PHONY: demo test lint types unit slow bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	@touch $@ $(VENV)/.installed $(VENV)/.installed-demo

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dask,reference]'
	@touch $@ $(VENV)/.installed

# The reference pipeline's deployments (tideflow.toml) on the embedded SQLite store in
# $$TIDEFLOW_HOME (default ~/.tideflow); the first evaluation runs at once.
demo: $(VENV)/.installed-demo
	@echo "Tideflow demo: the ticket model evaluation runs every minute (a persistent deployment), and"
	@echo "the backtest over every week of the log daily at 06:00, on a 2-worker Dask cluster. Data: the"
	@echo "log (\$$TIDEFLOW_INCIDENTS, or its download address; offline, a synthetic copy, said so)."
	@echo "Meanwhile, in another terminal: . .venv/bin/activate, then"
	@echo "  tideflow runs                                  every run, newest first"
	@echo "  tideflow metrics ticket-model-evaluation      mae, medae, mse, r2 over time"
	@echo "  tideflow logs RUN_ID --follow                  one run's log lines"
	@$(BIN)/tideflow serve --file tideflow.toml --grace 10 --now ticket-model-evaluation

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

types: $(VENV)/.installed-dev
	$(BIN)/mypy --strict src/tideflow

# The suite without the soak and chaos tests (under 6 minutes on 2 cores); CI also runs `slow`.
# Two pytest workers, a test file each at a time: many tests wait on processes they started.
unit: $(VENV)/.installed-dev
	bash scripts/ensure-graphviz.sh
	$(BIN)/pytest -m "not slow" -n 2 --dist loadfile --durations=15

# The soak and chaos tests: services and run processes killed at random, for minutes.
slow: $(VENV)/.installed-dev
	$(BIN)/pytest -m slow

test: lint types unit

bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks --output BENCHMARKS.md

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
