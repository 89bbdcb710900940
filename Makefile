# Karte — the two commands a new user needs:
#   make demo   install everything, migrate the embedded SpatiaLite DB, load the demo fixtures,
#               compute indicators and serve the app on http://127.0.0.1:8000 (development server)
#   make test   install everything and run the whole test suite
# DATABASE_URL=postgis://... selects PostGIS instead of the embedded SpatiaLite file.
# Production (docs/deploy.md): make serve (gunicorn, DEBUG off) and make worker (background jobs).

SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test install system-deps system-deps-test venv migrate load serve serve-dev worker clean benchmarks

demo: install migrate load serve-dev

test: system-deps-test venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: system-deps venv

system-deps:
	@scripts/system-deps.sh base

system-deps-test:
	@scripts/system-deps.sh test

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || "$$(scripts/find-python.sh)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@
	@echo "venv: Karte and its Python dependencies installed in $(VENV)"

migrate: venv
	$(BIN)/python manage.py migrate --noinput

load: venv
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py compute_indicators

# The demo's development server (DEBUG on, asked for explicitly) with a task worker beside it.
serve-dev: venv
	@PORT=$(PORT) BIN=$(BIN) scripts/serve.sh development

# Production mode: collectstatic, a migration check, gunicorn (gunicorn.conf.py, KARTE_BIND) and a worker.
serve: venv
	@PORT=$(PORT) BIN=$(BIN) scripts/serve.sh production

worker: venv
	$(BIN)/python manage.py run_worker

benchmarks: venv
	$(BIN)/python benchmarks/interpolation.py
	$(BIN)/python benchmarks/siting.py
	$(BIN)/python benchmarks/print_speed.py
	$(BIN)/python benchmarks/custom_area.py --demo-only
	$(BIN)/python benchmarks/search.py

clean:
	rm -rf var artifacts .pytest_cache
