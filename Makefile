# geomap: set-up and the two commands of the README's quick start.
#   make report   set up (virtualenv, dependencies) and run the main job on the shipped data -> out/
#   make test     set up (virtualenv, test dependencies, Debian's chromium) and run the test suite
#   make lint     ruff (lint and format) and mypy

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.geomap-installed

.PHONY: report test lint browser clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("geomap needs Python 3.11 or newer, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/geomap report --out out

# Debian's chromium for the real-browser map test (never a downloaded browser)
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }; \
	fi

test: $(STAMP) browser
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
