# casewright: two commands do everything on a fresh machine.
#   make demo   create .venv if missing, install, run the main job on the bundled sample project
#   make test   same bootstrap, then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_EPIC ?= ER-1

SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: demo test install clean redis-server

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first (the local CPU wheel); anything else would pull a multi-GB CUDA build.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/casewright demo --epic $(DEMO_EPIC) --out out/

# The suite starts its own throwaway redis-server (never the one on 6379); install Debian's
# redis-server package when the binary is missing.
redis-server:
	@command -v redis-server >/dev/null || { \
	  echo "redis-server not found: installing Debian's redis-server package with apt-get"; \
	  $(SUDO) apt-get install -y -q redis-server >/dev/null || $(SUDO) sh -c 'apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null'; \
	  command -v redis-server >/dev/null || { echo "could not install redis-server; install it (apt-get install redis-server, brew install redis) and rerun" >&2; exit 1; }; }

test: $(STAMP) redis-server
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests

clean:
	rm -rf $(VENV) out .casewright
