# Every target sets up .venv itself, so each works on a fresh clone with nothing installed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo test check bench venv clean

$(VENV)/.installed-%: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[$*]"
	touch $@

venv: $(VENV)/.installed-test

demo: $(VENV)/.installed-examples
	$(PY) examples/xgboost_breast_cancer.py

# Lint, format and types: ruff over the code, mypy over the package (settings in pyproject.toml).
check: $(VENV)/.installed-check
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples
	$(VENV)/bin/mypy

test: $(VENV)/.installed-test
	bash tests/setup.sh
	$(PY) -m pytest -q --durations=25

# Optuna's GPSampler needs torch; take the CPU build, never the multi-GB CUDA one.
bench: $(VENV)/.installed-test
	$(PIP) install -q "torch==2.13.0" greenlet
	$(PIP) install -q -e ".[bench]"
	# The standard set (docs: BENCHMARKS.md); two processes, one BLAS/torch thread each.
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(PY) -m benchmarks.quality --workers 2

clean:
	rm -rf $(VENV) .venv-sdk build src/*.egg-info
