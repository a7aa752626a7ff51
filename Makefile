# The README's commands. Needs only Python 3.11 and make: everything else is installed into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: test lint typecheck unit bench preview up clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when a requirements file or the package description changes.
$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-dev.txt pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

## test: lint, format check, strict type check, then the whole test suite.
test: lint typecheck unit

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

unit: $(VENV)/.installed
	$(BIN)/pytest

## bench: the scale benchmark (README "Scale"): the program under mocks against bare resources.
bench: $(VENV)/.installed
	$(BIN)/python bench/bench.py

## preview / up: the main job, on a stack in stacks/ (needs the Pulumi CLI and a kubeconfig).
preview: $(VENV)/.installed
	pulumi stack select --create $(STACK)
	pulumi preview --diff --stack $(STACK)

up: $(VENV)/.installed
	pulumi stack select --create $(STACK)
	pulumi up --stack $(STACK)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
