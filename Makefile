# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench bench-check lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/moderator desk --demo

# Two workers, one test file each at a time (module fixtures such as a hub process stay per file).
test: $(VENV)/.installed-dev
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n 2 --dist loadfile

# Every bench 3 times, each run's figures into docs/performance-runs.json, then docs/PERFORMANCE.md
# rendered from bench/sections/*.md (bench/run_all.py --help: --only, --render, --list).
bench: $(VENV)/.installed-dev
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/run_all.py --runs 3

# Does this machine reproduce docs/PERFORMANCE.md? Every bench once into bench/out/check-runs.json
# (docs/ untouched), each quoted figure against its stored range: bench/out/REPRODUCE.md.
bench-check: $(VENV)/.installed-dev
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/run_all.py --check --runs 1

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
