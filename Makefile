# Two commands on a fresh machine with Python 3.11+ and make: `make report`, `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: report test check install clean benchmark wheel

# The kernel modules too: an edited one needs its library built again (`cocoon-econ kernels build`).
$(STAMP): pyproject.toml analysis/core/numeric_jit.py analysis/sim/kernels_jit.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "cocoon-econ needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# Compile the kernels ahead of time (a shared library; needs a C compiler), so that simulate and
	@# report start without numba; without a compiler, fill numba's cache now instead of on first use.
	@# Bytecode now, as pip does for a wheel (an editable install compiles on first import, if it may write).
	@$(BIN)/python -m compileall -q analysis >/dev/null
	@$(BIN)/python -m analysis kernels build || $(BIN)/python -m analysis simulate \
		--scenario data/scenarios/hgx_h100_8x_colo.toml --method bootstrap --paths 64 --horizon-days 30 --seed 1 \
		>/dev/null 2>&1 || true
	@touch $(STAMP)

install: $(STAMP)

report: $(STAMP)
	$(BIN)/cocoon-econ report --out reports/report.html

# Lint, import contracts (the layers), types, then the suite.
check: $(STAMP)
	$(BIN)/ruff check analysis tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

test: check
	$(BIN)/python -m pytest

benchmark: $(STAMP)
	$(BIN)/python benchmarks/strategies.py
	$(BIN)/python benchmarks/cli.py

wheel: $(STAMP)
	$(BIN)/python -m build --wheel --outdir dist .

clean:
	rm -rf $(VENV) reports .pytest_cache dist build
