# geomap: set-up and the two commands of the README's quick start.
#   make report   set up (virtualenv, dependencies) and run the main job on the shipped data -> out/
#   make test     set up (virtualenv, test dependencies, Debian's chromium) and run the test suite
#   make lint     ruff (lint and format) and mypy
#   make wheel-check  build the wheel, install it (not editable) in a new virtualenv,
#                 and run the main job from outside the repository

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.geomap-installed

.PHONY: report test lint browser wheel-check clean

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

# The package as users get it: a wheel (shipped data inside), a fresh virtualenv,
# and the main job run from an unrelated folder.
wheel-check: $(STAMP)
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir "$$tmp/dist" . ; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet "$$tmp"/dist/geomap-*.whl; \
	mkdir "$$tmp/run"; cd "$$tmp/run"; \
	env -u GEOMAP_DATA_DIR -u GEOMAP_STUDY_AREA "$$tmp/venv/bin/geomap" report --quiet --out out > report.txt; \
	test -s out/index.html && test -s out/geomap.gpkg; \
	"$$tmp/venv/bin/python" -c 'import geomap, pathlib; assert "site-packages" in geomap.__file__, geomap.__file__; print("wheel check: geomap", geomap.__version__, "from", pathlib.Path(geomap.__file__).parent)'; \
	"$$tmp/venv/bin/python" -m geomap --version

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
