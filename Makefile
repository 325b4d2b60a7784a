# cardcare: `make run` serves the embedded default, `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test eval bench lint ingest clean

# Re-install only when pyproject.toml changed (the stamp is older than it).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/cardcare serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

eval: $(STAMP)
	$(BIN)/cardcare eval all --small

bench: $(STAMP)
	$(BIN)/cardcare bench

ingest: $(STAMP)
	$(BIN)/cardcare ingest

lint: $(STAMP)
	$(BIN)/ruff check bot knowledge handoff evals tests

clean:
	rm -rf $(VENV) var
