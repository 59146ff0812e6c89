# RouterX. `make run` runs everything locally (SQLite, no Docker); `make test` tests everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := backend/.venv
BIN := $(VENV)/bin
ROUTERX := $(BIN)/routerx
COMPOSE := docker compose --env-file $(if $(wildcard .env),.env,.env.example) -f deploy/docker-compose.yml

.PHONY: help install install-backend install-frontend build-frontend run migrate seed test check \
        test-backend test-e2e chromium services up down logs loadtest bench profile soak abuse mutation clean \
        migrations

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

install: install-backend install-frontend ## install everything `make run` needs (idempotent)

$(BIN)/uv:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

install-backend: $(BIN)/uv
	@$(BIN)/uv pip sync --quiet -p $(BIN)/python backend/requirements.lock
	@$(BIN)/uv pip install --quiet -p $(BIN)/python --no-deps -e backend

install-frontend: frontend/node_modules/.package-lock.json

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	@command -v npm >/dev/null || bash scripts/ensure_node.sh
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

build-frontend: install-frontend ## build the console (only when its sources changed)
	@bash scripts/build_frontend.sh

run: install build-frontend ## run gateway :8080, admin API :8081 and console :3000 on SQLite with demo data
	@bash scripts/run_local.sh

# True while the Compose stack's database runs (false without Docker): migrate/seed target it then.
STACK_UP := [ -n "$$($(COMPOSE) ps --quiet postgres 2>/dev/null)" ]

migrate: ## apply migrations: in the Docker stack while it runs, else to DATABASE_URL
	@if $(STACK_UP); then $(COMPOSE) run --rm migrate; \
	else $(MAKE) --no-print-directory install-backend && $(ROUTERX) migrate; fi

seed: ## create the demo tenant, key, providers, rules and admin (idempotent; same rule as migrate)
	@if $(STACK_UP); then $(COMPOSE) run --rm migrate routerx seed; \
	else $(MAKE) --no-print-directory install-backend && $(ROUTERX) seed; fi

up: ## build and start the Docker stack: console :3000, gateway :8080, Grafana :3001, Jaeger :16686
	$(COMPOSE) up --detach --build
	@echo "console http://localhost:3000  gateway http://localhost:8080  admin API http://localhost:8081"
	@echo "Grafana http://localhost:3001 (admin/admin)  Jaeger http://localhost:16686  Prometheus http://localhost:9090"

down: ## stop the Docker stack (the database volume stays; `make down V=1` removes it)
	$(COMPOSE) down $(if $(V),--volumes)

logs: ## follow the Docker stack's logs (`make logs S=gateway` for one service)
	$(COMPOSE) logs --follow --tail=200 $(S)

check: install-backend install-frontend ## ruff, ruff format, mypy --strict, tsc
	cd backend && .venv/bin/ruff check src tests ../scripts && .venv/bin/ruff format --check src tests ../scripts && .venv/bin/mypy
	cd frontend && npx --no-install tsc --noEmit

services: ## install and start PostgreSQL and Redis for the tests when missing or down
	@bash scripts/ensure_services.sh

# ROUTERX_CONSOLE_TESTS=1: the console security tests (`-m console`) run too, so nothing skips.
test-backend: install-backend install-frontend services
	cd backend && ROUTERX_CONSOLE_TESTS=1 .venv/bin/pytest -q -p no:cacheprovider

chromium: ## install Debian Chromium for the browser tests when missing
	@bash scripts/ensure_chromium.sh

test-e2e: install chromium ## console end-to-end tests in Debian Chromium against the real stack
	cd frontend && NEXT_TELEMETRY_DISABLED=1 npx --no-install playwright test

# The backend and browser suites share nothing (the browser stack runs on its own SQLite file,
# without Redis), so they run side by side, after everything either needs is installed.
test: check services chromium ## the one test command: lint, types, backend tests, browser tests
	$(MAKE) --no-print-directory -j2 --output-sync=target test-backend test-e2e

loadtest: install-backend ## load test a running gateway (`make run`); ARGS="-c 64 -d 60 --json report.json"
	$(BIN)/python scripts/loadtest.py $(ARGS)

bench: install-backend ## RouterX vs LiteLLM on a fast mock upstream, with wrk; ARGS="--quick" for a smoke run
	$(BIN)/python -m scripts.bench $(ARGS)

profile: install-backend ## py-spy profile of the gateway's hot path under load; ARGS="--mode stream"
	$(BIN)/python -m scripts.bench.hotpath_profile $(ARGS)

soak: install-backend ## 10-minute soak with 20 % injected upstream failures (not in CI); SOAK_ARGS="--duration 120"
	$(BIN)/python scripts/soak.py $(SOAK_ARGS)

abuse: install-backend ## abuse storms (large, part-flood, stalled bodies): peak RSS, refusals, /healthz (not in CI); ARGS="--url http://127.0.0.1:8080"
	$(BIN)/python scripts/abuse.py $(ARGS)

mutation: install-backend services ## mutation score of the breaker, fallback, attempt, limit window, budget periods and ledger, and stream encoders (not in CI); ARGS="--module breaker"
	$(BIN)/python scripts/mutation.py $(ARGS)

clean: ## remove the local database and caches
	rm -rf data backend/data .mypy_cache .ruff_cache backend/.pytest_cache

migrations: install-backend ## write a migration for model changes (dialect-independent)
	cd backend && .venv/bin/python -m tortoise -c routerx.storage.migration_config.TORTOISE_ORM makemigrations
