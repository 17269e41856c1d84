# Strongroom — the two set-up commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## demo: create .venv, install, build a demo vault with synthetic data on SQLite, show it
demo: $(STAMP)
	$(BIN)/strongroom demo --serve

## deps: Debian packages the tests need (PostgreSQL server binaries, SoftHSM2), installed when missing
deps:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "installing PostgreSQL (Debian package postgresql)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; \
	fi
	@if [ "$$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then \
	  echo "the tests run the throwaway PostgreSQL cluster as user postgres; installing the package creates it"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi
	@if [ ! -e /usr/lib/softhsm/libsofthsm2.so ]; then \
	  echo "installing SoftHSM2 (Debian package softhsm2) for the PKCS#11 tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq softhsm2 >/dev/null; \
	fi

## lint: ruff (lint + format check) and mypy --strict on src/
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy --strict src

## test: install what the tests need, then the quality gates and the whole suite
test: deps $(STAMP) lint
	$(BIN)/pytest

## test-fast: the suite without the slow system tests (CI always runs them all)
test-fast: $(STAMP)
	$(BIN)/pytest -m 'not slow'

## bench: ingest and find benchmarks; ratios against a plaintext baseline in the same run
bench: deps $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/find.py
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/lookup.py
	$(BIN)/python bench/rekey.py
	$(BIN)/python bench/audit.py

clean:
	rm -rf $(VENV) demo-vault demo-vault-keys demo-data .pytest_cache .mypy_cache .ruff_cache
