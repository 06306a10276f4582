# Two commands on a fresh machine: `make demo` (set up, then run the main job on generated data) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup demo run lint test test-production prod-local prod-local-stop dev benchmark clean glue-package terraform-check

# `make demo` and `make dev` share these, so the UI shows the demo's runs, checks and plots.
export DAGSTER_HOME         ?= $(CURDIR)/var/dagster_home
export FAVORITA_DATA_DIR    ?= $(CURDIR)/favorita_out/data
export FAVORITA_STORAGE_DIR ?= $(CURDIR)/favorita_out/storage

CHECKOV_VENV ?= .venv-checkov

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed

# torch first, pinned to the CPU build, so nothing later pulls the multi-GB CUDA wheels.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# checkov scans infra/terraform in the tests; its pins clash with the project's, so it gets its own environment.
$(CHECKOV_VENV)/.installed: infra/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r infra/checkov-requirements.txt
	touch $@

demo: setup
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/favorita demo --out favorita_out

# The formatter, the linter and the type checker, each failing the build on a finding (CI runs this before the tests;
# `ruff format .` and `ruff check --fix .` fix most of what they report). The rules are in pyproject.toml.
lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

test: setup
	env -u DAGSTER_HOME -u FAVORITA_DATA_DIR -u FAVORITA_STORAGE_DIR $(BIN)/pytest -q

# Production Dagster on this machine against the real processes (needs Debian's postgresql), the container image
# built with buildah and checked inside (needs buildah and debootstrap, as root), and Dagster's AWS hosting applied to
# moto with the ECS run launcher and the deploy (needs terraform). .ci/run runs it after `make test`.
test-production: setup
	env -u DAGSTER_HOME -u FAVORITA_DATA_DIR -u FAVORITA_STORAGE_DIR $(BIN)/pytest -q -m "production or image or aws_hosting" -s

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

dev: setup
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000

benchmark: setup
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/python benchmarks/real_sales_benchmark.py --run
	$(BIN)/python benchmarks/etl_benchmark.py
	$(BIN)/python benchmarks/forecast_benchmark.py
	$(BIN)/python benchmarks/deepar_windows.py
	$(BIN)/python benchmarks/replenishment_benchmark.py
	$(BIN)/python benchmarks/plan_benchmark.py
	$(BIN)/python benchmarks/scale_benchmark.py

clean:
	rm -rf favorita_out var dist
