# Switchyard — the two set-up commands are `make run` and `make test`; both install what they need.
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: install run test lint typecheck unit demo bench bench-quick clean

install: $(STAMP)

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra test --python $(PYTHON)
	@touch $(STAMP)

run: install
	$(BIN)/switchyard serve

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider

test: lint typecheck unit

demo: install
	$(BIN)/switchyard demo

bench: install
	$(BIN)/python -m bench.run --full

bench-quick: install
	$(BIN)/python -m bench.run --quick

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
