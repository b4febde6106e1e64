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

.PHONY: run dev test lint install install-dev bench bench-tenants bench-backup soak db-stop clean browsers axe scale-packages scale-test failover-packages failover-test pitr-packages pitr-test sso-packages

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed sso-packages

# xmlsec1 (Debian's package), with which pysaml2 checks and makes SAML signatures.
sso-packages:
	@command -v xmlsec1 >/dev/null || (apt-get update -qq && apt-get install -y -qq xmlsec1 >/dev/null)

install-dev: $(VENV)/.installed-dev sso-packages

define BANNER
	@echo ""
	@echo "  Student Operations Console: http://demo.localhost:$(PORT)/"
	@echo "  Log in as $(DEMO_EMAIL) / $(DEMO_PASSWORD)"
	@echo "  API docs: http://demo.localhost:$(PORT)/v1/docs/"
	@echo "  Platform admin: http://localhost:$(PORT)/admin/ (make its account: .venv/bin/python manage.py createsuperuser)"
	@echo ""
endef

# The production path: gunicorn (config/serve.py) in front of the embedded PostgreSQL by default.
run: install
	$(PY) manage.py prepare_demo --students $(DEMO_STUDENTS) --email $(DEMO_EMAIL) --password $(DEMO_PASSWORD)
	$(BANNER)
	PORT=$(PORT) exec $(PY) -m config.serve

# Development: Django's auto-reloading server with debug pages, and a job queue
# worker beside it (it exits with this shell's process, which becomes the server).
dev: install
	$(PY) manage.py prepare_demo --students $(DEMO_STUDENTS) --email $(DEMO_EMAIL) --password $(DEMO_PASSWORD)
	$(BANNER)
	$(PY) manage.py jobs_worker --parent-pid $$$$ & DEBUG=$${DEBUG:-1} exec $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install-dev axe
	$(PY) -m pytest --create-db --durations=30 $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run

# Past one machine, for real: PgBouncer (transaction mode), a streaming replica, Redis and two
# production servers on this machine, started and stopped by config/tests/test_scale_out.py.
scale-packages:
	@command -v pgbouncer >/dev/null || (apt-get update -qq && apt-get install -y -qq pgbouncer >/dev/null)
	@command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server >/dev/null)

scale-test: install-dev scale-packages
	SCALE_TEST=1 $(PY) -m pytest config/tests/test_scale_out.py -p no:randomly -rA $(PYTEST_ARGS)

# A primary and a synchronous standby under Patroni (with etcd), the primary killed under a
# write load through the production server; started and stopped by config/tests/test_failover.py.
# Debian's PostgreSQL 15 for the nodes: Patroni 3.0 knows no later major.
failover-packages:
	@command -v patroni >/dev/null || (apt-get update -qq && apt-get install -y -qq patroni >/dev/null)
	@command -v etcd >/dev/null || (apt-get update -qq && apt-get install -y -qq etcd-server >/dev/null)
	@ls /usr/lib/postgresql/1[45]/bin/postgres >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq postgresql-15 >/dev/null)

failover-test: install-dev failover-packages
	FAILOVER_TEST=1 $(PY) -m pytest config/tests/test_failover.py -p no:randomly -rA -s $(PYTEST_ARGS)

# Point-in-time recovery, for real: a primary archiving its WAL, a base backup, damage, and a
# second cluster restored to the time before it (config/tests/test_pitr.py). With pg_basebackup
# and the embedded PostgreSQL's own programs everywhere; again with pgBackRest (Debian's package)
# on Debian's PostgreSQL 15 where both are, else that half is skipped with the reason.
# PITR_STUDENTS sizes what is replayed.
pitr-packages:
	@command -v pgbackrest >/dev/null || (apt-get update -qq && apt-get install -y -qq pgbackrest >/dev/null) \
		|| echo "pgBackRest could not be installed: make pitr-test skips its half"

pitr-test: install-dev pitr-packages
	PITR_TEST=1 $(PY) -m pytest config/tests/test_pitr.py -p no:randomly -rA $(PYTEST_ARGS)

# Debian's Chromium for the browser tests, and axe-core (npm registry) for their accessibility checks.
# `make test` installs axe-core wherever Chromium is there to use it; where npm or the registry
# cannot be had, it says so and the accessibility checks are skipped with that reason.
AXE_VERSION = 4.14.1
AXE = var/npm/node_modules/axe-core/axe.min.js
browsers:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	@$(MAKE) --no-print-directory axe

axe:
	@if command -v chromium >/dev/null && ! grep -qs '"version": "$(AXE_VERSION)"' var/npm/node_modules/axe-core/package.json; then \
		mkdir -p var && npm install --silent --no-audit --no-fund --prefix var/npm axe-core@$(AXE_VERSION) >/dev/null 2>var/npm-axe.log \
		|| echo "axe-core could not be installed with npm (var/npm-axe.log): accessibility checks will be skipped"; \
	fi

# On demand (never in `make test`): seeds the two tenants once (BENCH_STUDENTS in the large one,
# 10,000 in the small one; 1,000,000 take about 10 minutes here), then prints the list's cost on
# both side by side, the export against COPY, the list's CSV and XLSX downloads against COPY of
# their statement, the detail, tenant creation, the production server's throughput, and the
# JSON and HTML lists beside the Django admin's changelist, the gradebook, a group's results,
# the participants dashboard, what keeping each pair's totals costs a session report, and the
# student import. bench/README.md records a run.
BENCH_STUDENTS ?= 1000000
bench: install-dev
	$(PY) bench/ensure_tenants.py small:10000 $(or $(BENCH_TENANT),bench):$(BENCH_STUDENTS)
	$(PY) bench/list_scaling.py --small small --large $(or $(BENCH_TENANT),bench)
	$(PY) bench/export_and_detail.py --tenant $(or $(BENCH_TENANT),bench)
	$(PY) bench/reports_and_exports.py downloads --tenant $(or $(BENCH_TENANT),bench)
	$(PY) bench/server_throughput.py --tenant $(or $(BENCH_TENANT),bench) --clients 8 --seconds 30
	$(PY) bench/request_floor.py --tenant $(or $(BENCH_TENANT),bench) --runs 300 --clients 8 --seconds 20
	$(PY) bench/list_vs_admin.py --tenant $(or $(BENCH_TENANT),bench) --runs 100
	$(PY) bench/template_engine.py --tenant $(or $(BENCH_TENANT),bench) --runs 300
	$(PY) bench/reports_and_exports.py gradebook --tenant small --case-studies 5 --repeat 11
	$(PY) bench/reports_and_exports.py gradebook --tenant $(or $(BENCH_TENANT),bench) --case-studies 5 --repeat 11 --students 9801
	$(PY) bench/group_results.py --small small --large $(or $(BENCH_TENANT),bench) --members 3000
	$(PY) bench/participants.py --small small --large $(or $(BENCH_TENANT),bench)
	$(PY) bench/standing_upkeep.py --tenant $(or $(BENCH_TENANT),bench)
	$(PY) bench/student_import.py --rounds 1

# On demand (never in `make test`): the production server under a mixed load of staff and the
# case-study runtime for SOAK_SECONDS (8 clients by default) on a tenant seeded once with
# SOAK_STUDENTS, then checks: no 5xx, the grant ledger equal to the extra attempts shown, list
# totals equal to SQL counts, memory level. bench/README.md records a run.
SOAK_TENANT ?= soak
SOAK_STUDENTS ?= 10000
SOAK_CLIENTS ?= 8
SOAK_SECONDS ?= 300
soak: install-dev
	$(PY) bench/ensure_tenants.py $(SOAK_TENANT):$(SOAK_STUDENTS)
	$(PY) bench/soak.py --tenant $(SOAK_TENANT) --clients $(SOAK_CLIENTS) --seconds $(SOAK_SECONDS)

# On demand (never in `make test`): two throwaway clusters, one with 2 tenants and one with
# BENCH_TENANTS (made by create_tenants), side by side: creation, no-op and real migrations
# (with clients reading and writing meanwhile), the list and detail interleaved, connections
# and memory after visiting every tenant, idle statements, PostgreSQL's catalogue and pg_dump.
# About 15 minutes for 1,000 here; bench/README.md records a run.
BENCH_TENANTS ?= 1000
bench-tenants: install-dev
	$(PY) bench/tenants.py --tenants $(BENCH_TENANTS)

bench-backup: install-dev
	$(PY) bench/tenant_backup.py --students 100000

db-stop:
	@[ -x $(PY) ] && $(PY) -m config.database stop || true

clean:
	rm -rf var/static var/test-media
