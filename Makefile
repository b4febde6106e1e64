# Two commands on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DEMO_STUDENTS ?= 2000
DEMO_EMAIL ?= ops@demo.localhost
DEMO_PASSWORD ?= demo-password
PYTEST_ARGS ?=

.PHONY: run test install install-dev migrate demo serve bench db-stop clean browsers

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate_schemas --shared --verbosity 0
	$(PY) manage.py create_tenant --slug demo --name "Demo University" --domain demo.localhost --if-missing
	$(PY) manage.py migrate_schemas --verbosity 0

demo: migrate
	$(PY) manage.py seed_demo --tenant demo --students $(DEMO_STUDENTS) --if-empty
	$(PY) manage.py create_staff --tenant demo --email $(DEMO_EMAIL) --password $(DEMO_PASSWORD) --role admin --role operator --name "Demo Operator"

run: demo
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo ""
	@echo "  Student Operations Console: http://demo.localhost:$(PORT)/"
	@echo "  Log in as $(DEMO_EMAIL) / $(DEMO_PASSWORD)"
	@echo "  API docs: http://demo.localhost:$(PORT)/v1/docs/   Platform admin: http://localhost:$(PORT)/admin/"
	@echo ""
	$(PY) manage.py runserver 127.0.0.1:$(PORT) --noreload

test: install-dev
	$(PY) -m pytest --create-db $(PYTEST_ARGS)

browsers:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

bench: install-dev
	$(PY) bench/run.py $(BENCH_ARGS)

db-stop:
	@[ -x $(PY) ] && $(PY) -m config.database stop || true

clean:
	rm -rf var/static var/test-media
