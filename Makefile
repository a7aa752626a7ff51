# The README's commands. Needs only Python 3.11 and make: everything else is installed into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
FORMAT ?= markdown

.PHONY: test lint typecheck unit plan validate schema bench preview up clean

# Setup speaks on stderr only, so `make plan ... > plan.sh` is a clean file even on first use.
$(BIN)/activate:
	@echo "creating $(VENV) with $(PYTHON)" >&2
	@$(PYTHON) -m venv $(VENV)

# Reinstalls only when a requirements file or the package description changes.
$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-dev.txt pyproject.toml
	@echo "installing the pinned requirements into $(VENV)" >&2
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt >&2
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . >&2
	@touch $@

## test: lint, format check, strict type check, then the whole test suite.
test: lint typecheck unit

# lint also checks every GitHub workflow and local action against their JSON Schemas (vendored
# in check-jsonschema: works offline), so a broken workflow fails here, not on GitHub.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions .github/actions/*/action.yml

typecheck: $(VENV)/.installed
	$(BIN)/mypy
	MYPYPATH=policy $(BIN)/mypy --strict policy/__main__.py
	$(BIN)/mypy --strict provider/__main__.py

unit: $(VENV)/.installed
	$(BIN)/pytest

## plan: the main job that runs anywhere: what STACK applies, checked, without a cluster or the
## Pulumi CLI. FORMAT=markdown (review summary), yaml (the objects) or kubectl (a runbook).
plan: $(VENV)/.installed
	@$(BIN)/python -m openelb_component plan --stack $(STACK) --format $(FORMAT)

## validate: every stack file, as the Pulumi program would judge it (also a pre-commit hook).
validate: $(VENV)/.installed
	@$(BIN)/python -m openelb_component validate

## schema: regenerate the stack file's JSON Schema for editors (a test keeps it current).
schema: $(VENV)/.installed
	$(BIN)/python -m openelb_component schema --output schema/stack-config.schema.json

## bench: the scale benchmark (docs/benchmarks.md): the program under mocks against bare resources.
bench: $(VENV)/.installed
	$(BIN)/python -m bench.bench

## preview / up: the main job, on a stack in stacks/ (needs the Pulumi CLI and a kubeconfig).
## Both refresh first: releasing a removed patch is an apply without a read, which would
## recreate a node deleted from the cluster (docs/operations.md, "Removing nodes").
preview: $(VENV)/.installed
	pulumi stack select --create $(STACK)
	pulumi preview --refresh --diff --stack $(STACK)

up: $(VENV)/.installed
	pulumi stack select --create $(STACK)
	pulumi up --refresh --stack $(STACK)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
