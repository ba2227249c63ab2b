# Two commands on a fresh machine: `make run` and `make test`. Both bootstrap .venv from the lock file.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench clean lock

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m compileall -q warexempt  # as a wheel install would: start-up reads bytecode, not source
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/warexempt serve  # the web page and the API on http://127.0.0.1:8000/ (SQLite, bundled law)

lint: $(STAMP)
	$(BIN)/ruff check warexempt tests benchmarks
	$(BIN)/ruff format --check warexempt tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy warexempt tests benchmarks

unit: $(STAMP)
	$(BIN)/pytest -n 2

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m compileall -q warexempt
	$(BIN)/python benchmarks/run.py

# Regenerate the lock file (needs network to PyPI).
lock:
	$(BIN)/python -m pip install --quiet uv && $(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build *.egg-info
