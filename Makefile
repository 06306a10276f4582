# Two commands on a fresh machine: `make demo` (set up, then a two-minute run on small generated data) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup demo demo-full ui run lint test test-production prod-local prod-local-stop dev benchmark clean glue-package terraform-check docs docs-build

# Where `make demo` and `make demo-full` write the data, the outputs and the runs; `make ui` opens the UI on it.
OUT ?= favorita_out

CHECKOV_VENV ?= .venv-checkov

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed

# torch first, as its CPU-only build, so nothing later pulls the multi-GB CUDA wheels: a wheel pip already has at hand
# (its find-links) when there is one, else PyTorch's CPU index, else what the configured index offers.
TORCH_VERSION   ?= 2.13.0
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-index torch==$(TORCH_VERSION) 2>/dev/null \
	  || $(BIN)/pip install --quiet torch==$(TORCH_VERSION) --index-url $(TORCH_CPU_INDEX) --timeout 20 --retries 1 2>/dev/null \
	  || $(BIN)/pip install --quiet torch==$(TORCH_VERSION)
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# checkov scans infra/terraform in the tests; its pins clash with the project's, so it gets its own environment.
$(CHECKOV_VENV)/.installed: infra/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r infra/checkov-requirements.txt
	touch $@

# The small demo: 3 stores x 4 families, 3 epochs, about two minutes on 2 cores; then open OUT/planner_report.html.
demo: setup
	$(BIN)/favorita demo --small --out $(OUT)

# The full-size demo: Favorita's 54 stores x 33 families over Kaggle's dates, 30 epochs.
demo-full: setup
	$(BIN)/favorita demo --out $(OUT)

# The Dagster UI on the demo's runs, assets and storage (http://127.0.0.1:3000); it starts no run unasked.
ui: setup
	$(BIN)/favorita ui --out $(OUT)

# The formatter, the linter and the type checker, each failing the build on a finding (CI runs this before the tests;
# `ruff format .` and `ruff check --fix .` fix most of what they report). The rules are in pyproject.toml.
lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

# The suite, its files spread over TEST_WORKERS processes (each file's tests on one of them, so a file's shared
# pipeline runs are made once, and each worker's models use its share of the cores); TEST_WORKERS=0 runs it in this
# process. A test that runs past TEST_TIMEOUT seconds (its fixtures included) fails with every thread's stack.
TEST_WORKERS ?= 2
TEST_TIMEOUT ?= 1200

test: setup
	env -u DAGSTER_HOME -u FAVORITA_DATA_DIR -u FAVORITA_STORAGE_DIR $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile \
	  --timeout $(TEST_TIMEOUT)

# Production Dagster on this machine against the real processes (needs Debian's postgresql), the container image
# built with buildah and checked inside (needs buildah and debootstrap, as root), and Dagster's AWS hosting applied to
# moto with the ECS run launcher and the deploy, and the platform's own stack applied to moto with the graph and the
# ops jobs on its outputs (needs terraform). .ci/run runs it after `make test`.
test-production: setup
	env -u DAGSTER_HOME -u FAVORITA_DATA_DIR -u FAVORITA_STORAGE_DIR $(BIN)/pytest -q -m "production or image or aws_hosting or aws_platform" -s \
	  --timeout 2400

# Production Dagster on this machine: PostgreSQL, the code server, the daemon and the webserver, each its own process,
# on generated demo data; the UI on http://127.0.0.1:3000. Logs in var/prod/logs; `make prod-local-stop` stops it all.
prod-local: setup
	$(BIN)/favorita prod-local start --root var/prod

prod-local-stop:
	$(BIN)/favorita prod-local stop --root var/prod

# The Terraform checks alone: fmt, validate (offline provider mirror: FAVORITA_TF_PLUGIN_DIR), checkov, and
# apply/destroy of envs/dev against moto on 127.0.0.1.
terraform-check: setup
	env -u DAGSTER_HOME -u FAVORITA_DATA_DIR -u FAVORITA_STORAGE_DIR $(BIN)/pytest -q -m terraform

# What Terraform uploads for the Glue job: dist/glue/clean_series_job.py and dist/glue/favorita_core.zip.
glue-package: setup
	$(BIN)/favorita glue-package --out dist/glue

# dagster dev from the repository root, which reads .env there: the aws deployment's settings that
# `favorita aws-settings` writes. Its runs are recorded in var/dagster_home. For a demo's outputs, `make ui`.
dev: setup
	mkdir -p var/dagster_home
	[ -s var/dagster_home/dagster.yaml ] || printf 'telemetry:\n  enabled: false\nnux:\n  enabled: false\n' > var/dagster_home/dagster.yaml
	DAGSTER_HOME=$(CURDIR)/var/dagster_home $(BIN)/dagster dev -h 127.0.0.1 -p 3000

benchmark: setup
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/python benchmarks/real_sales_benchmark.py --run
	$(BIN)/python benchmarks/etl_benchmark.py
	$(BIN)/python benchmarks/forecast_benchmark.py
	$(BIN)/python benchmarks/deepar_windows.py
	$(BIN)/python benchmarks/replenishment_benchmark.py
	$(BIN)/python benchmarks/plan_benchmark.py
	$(BIN)/python benchmarks/scale_benchmark.py

# The documentation site: `make docs` serves it on http://127.0.0.1:8000 and rebuilds on every change;
# `make docs-build` builds it into site/ in strict mode (a broken link or a missing page fails), as the tests do.
.PHONY: docs docs-build
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve -a 127.0.0.1:8000

docs-build: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf favorita_out var dist site
