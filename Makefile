# Frontrow: `make run` serves the embedded demo (SQLite, nothing else needed); `make test` runs every test
# against the real PostgreSQL and Redis on this machine (starting them if they are installed but stopped).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint services migrate bench up stack-prepare clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

run: $(VENV)/.runtime-installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py seed_demo
	SITE_URL="$${SITE_URL:-http://$(HOST):$(PORT)}" $(BIN)/python manage.py runserver $(HOST):$(PORT)

services:
	@sh tests/ensure_services.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=config.settings_test

test: $(VENV)/.dev-installed services lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# --- Full stack (`make up`) and the rush benchmark (`make bench`, never part of `make test`) ---------
# Production settings against PostgreSQL + Redis. Every value below is a default: set DATABASE_URL,
# REDIS_URL, QUEUE_BACKEND, SECRET_KEY, ALLOWED_HOSTS, ALLOW_PLAIN_HTTP, SITE_URL, WEB1_PORT, WEB2_PORT in the
# environment (or on the make command line) to point the stack elsewhere. ALLOW_PLAIN_HTTP=true because
# the local stack serves plain HTTP on 127.0.0.1; leave it false behind a TLS proxy.
STACK_SECRET_FILE := $(VENV)/frontrow-stack-secret-key
STACK_ENV = DJANGO_SETTINGS_MODULE=config.settings_production PATH="$(CURDIR)/$(BIN):$$PATH" \
	DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/frontrow}" \
	REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}" \
	QUEUE_BACKEND="$${QUEUE_BACKEND:-redis}" \
	SECRET_KEY="$${SECRET_KEY:-$$(cat $(STACK_SECRET_FILE))}" \
	ALLOWED_HOSTS="$${ALLOWED_HOSTS:-127.0.0.1,localhost}" \
	ALLOW_PLAIN_HTTP="$${ALLOW_PLAIN_HTTP:-true}" \
	SITE_URL="$${SITE_URL:-http://127.0.0.1:$${WEB1_PORT:-8001}}"

# A stable local secret (kept in the ignored .venv) so sessions survive a restart of `make up`.
$(STACK_SECRET_FILE): | $(BIN)/python
	$(BIN)/python -c "import secrets; print(secrets.token_urlsafe(64))" > $@

# Creates the stack's database when the server has none of that name (connects to its "postgres" db).
CREATE_DATABASE = import os, psycopg; from psycopg import conninfo, sql; \
	url = os.environ["DATABASE_URL"]; name = conninfo.conninfo_to_dict(url)["dbname"]; \
	db = psycopg.connect(conninfo.make_conninfo(url, dbname="postgres"), autocommit=True); \
	exists = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone(); \
	exists or db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))); \
	exists or print("created database", name)

stack-prepare: $(VENV)/.runtime-installed services $(STACK_SECRET_FILE)
	@$(STACK_ENV) $(BIN)/python -c '$(CREATE_DATABASE)'
	$(STACK_ENV) $(BIN)/python manage.py migrate --noinput
	$(STACK_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0

up: stack-prepare
	$(STACK_ENV) $(BIN)/honcho start -f Procfile

bench: $(VENV)/.dev-installed stack-prepare
	$(STACK_ENV) $(BIN)/python -m bench.rush $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
