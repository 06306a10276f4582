# Two commands on a fresh machine: `make demo` (set up, then run the main job on generated data) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup demo run test dev benchmark clean

setup: $(VENV)/.installed

# torch first, pinned to the CPU build, so nothing later pulls the multi-GB CUDA wheels.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

demo: setup
	$(BIN)/favorita demo --out favorita_out

test: setup
	$(BIN)/pytest -q

dev: setup
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/var/dagster_home} ; mkdir -p $$DAGSTER_HOME ; \
	  DAGSTER_HOME=$$DAGSTER_HOME $(BIN)/dagster dev -h 127.0.0.1 -p 3000

benchmark: setup
	$(BIN)/python benchmarks/etl_benchmark.py

clean:
	rm -rf favorita_out var
