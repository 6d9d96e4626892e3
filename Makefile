# Kehu — the two commands a newcomer needs are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= 1000000
CUSTOMERS ?= 2000
export KEHU_VAR_DIR ?= $(CURDIR)/var

.PHONY: run test install demo lint format bench bench-quick load clean messages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Development server with the demo company: migrates var/kehu.sqlite3, loads demo data once,
# prints the demo logins, starts the background worker and serves http://$(HOST):$(PORT)
run: $(STAMP)
	mkdir -p var
	KEHU_DEBUG=1 $(BIN)/kehu migrate --no-input -v0
	KEHU_DEBUG=1 $(BIN)/kehu demo --customers $(CUSTOMERS) --if-empty --url http://$(HOST):$(PORT)
	KEHU_DEBUG=1 $(BIN)/kehu worker > var/worker.log 2>&1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	echo "worker started (pid $$worker, log var/worker.log)"; \
	KEHU_DEBUG=1 $(BIN)/kehu runserver $(HOST):$(PORT)

demo: $(STAMP)
	mkdir -p var
	KEHU_DEBUG=1 $(BIN)/kehu migrate --no-input -v0
	KEHU_DEBUG=1 $(BIN)/kehu demo --customers $(CUSTOMERS) --url http://$(HOST):$(PORT)

# The whole suite. Browser tests need the system Chromium (/usr/bin/chromium); without it they are
# reported as skipped with the reason. KEHU_TEST_DATABASE_URL=postgres://… runs it on PostgreSQL.
test: $(STAMP)
	$(BIN)/ruff check kehu tests bench conftest.py
	$(BIN)/pytest -p no:cacheprovider -n auto --maxprocesses=4

lint: $(STAMP)
	$(BIN)/ruff check kehu tests bench conftest.py
	$(BIN)/ruff format --check kehu tests bench conftest.py

format: $(STAMP)
	$(BIN)/ruff format kehu tests bench conftest.py

messages: $(STAMP)
	cd kehu && KEHU_DEBUG=1 ../$(BIN)/kehu makemessages -l zh_Hans --no-obsolete && KEHU_DEBUG=1 ../$(BIN)/kehu compilemessages -l zh_Hans

# Benchmarks at SCALE customers (default 1,000,000; `make bench SCALE=100000` for a quick run).
bench: $(STAMP)
	$(BIN)/python -m bench.run --scale $(SCALE)

# Load test with Locust: 2 app servers against PostgreSQL (bench/README.md "Load test").
load: $(STAMP)
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python -m bench.load --db postgres --scale $(SCALE) --reuse

clean:
	rm -rf var .pytest_cache
