# kanban-edge: `make demo` shows it working, `make test` tests it. Both set themselves up.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test demo lint typecheck unit system-deps clean

$(BIN)/activate:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,demo]'
	touch $@

system-deps:
	@scripts/system-deps.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

test: $(VENV)/.installed system-deps lint typecheck
	$(BIN)/pytest

demo: $(VENV)/.installed
	$(BIN)/kanban-edge demo

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

# Throughput / memory / start-up benchmark (docs/PERFORMANCE.md); `.venv/bin/python -m bench.run --smoke` is quick.
.PHONY: bench
bench: $(VENV)/.installed system-deps
	$(BIN)/python -m bench.run
