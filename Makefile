# One entry point for humans and CI. `make run` and `make test` need only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
PORT ?= 8000
# The base of every absolute link in emails; follows PORT unless given (make run PUBLIC_BASE_URL=...).
PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
PYTEST_ARGS ?=
# pytest-xdist workers for `make test`: two keep both cores busy while one waits on a browser or
# a Celery process (TEST_WORKERS=0 runs in one process, e.g. to read a failure's output in order).
TEST_WORKERS ?= 2
STAMP := $(VENV)/.installed

.PHONY: install run test lint messages migrate seed bench bench-web bench-explain bench-schedule bench-import backup restore clean

$(STAMP): requirements.txt requirements-dev.txt requirements-ci.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing the Python packages (first run: a few minutes)..."
	$(BIN)/python -m pip install --progress-bar on -r requirements-dev.txt
	touch $(STAMP)

# axe-core (pinned in package.json) for the accessibility browser tests; skipped without npm.
node_modules/.installed: package.json package-lock.json
	command -v npm >/dev/null 2>&1 && npm ci --no-audit --no-fund --silent && touch $@ || echo "npm not found: tests/a11y will skip"

install: $(STAMP) node_modules/.installed

migrate: install
	$(MANAGE) migrate --noinput

# Invented demo data; seed_demo leaves a database that already holds the demo as it is.
seed: migrate
	$(MANAGE) seed_demo

# Web app on 127.0.0.1:$(PORT), a Celery worker and beat (the Procfile); Ctrl-C stops all three.
# scripts/run_procfile.py is honcho, made to restart a process that dies and to stop a Celery
# worker cleanly (see there why).
run: migrate seed
	PATH="$(CURDIR)/$(BIN):$$PATH" PUBLIC_BASE_URL="$(PUBLIC_BASE_URL)" \
		$(BIN)/python scripts/run_procfile.py start -f Procfile -p $(PORT)

# Spanish (and any language under locale/): extract the strings, then compile once translated.
# The .mo is committed, so `make run` needs no gettext; tests/test_translations.py fails on a
# participant-facing string without a translation, a fuzzy one, or a stale .mo.
MESSAGES_IGNORE := .venv node_modules staticfiles bench tests test-artifacts var backups scripts deploy docs
messages: install
	$(MANAGE) makemessages -l es --no-obsolete $(addprefix -i ,$(MESSAGES_IGNORE))
	$(MANAGE) compilemessages -l es $(addprefix -i ,$(MESSAGES_IGNORE))

lint: install
	$(BIN)/ruff check .

test: install
	$(BIN)/python -m pytest --numprocesses=$(TEST_WORKERS) $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/reminders.py

# Pages under load (needs DATABASE_URL=postgres://..., and wrk: apt-get install wrk). Serves
# invented clinics of 200 and 2,000 participants with gunicorn on 127.0.0.1 and prints a table.
bench-web: install
	$(BIN)/python bench/web.py $(BENCH_WEB_ARGS)

# EXPLAIN ANALYZE of every query of every page at 2,000 participants; flags what grows with the
# clinic rather than the page (needs DATABASE_URL=postgres://...; reuses make bench-web --keep's).
bench-explain: install
	$(BIN)/python bench/explain.py --reuse $(BENCH_EXPLAIN_ARGS)

# Schedule generation (12 weeks x 15 slots) and intake into a full track: time and queries.
bench-schedule: install
	$(BIN)/python bench/schedule.py

# The census import of 2,000 invented participants (XLSX, with attendance): dry run and commit,
# time and queries (needs DATABASE_URL=postgres://...).
bench-import: install
	$(BIN)/python bench/import_census.py $(BENCH_IMPORT_ARGS)

# PostgreSQL backups (docs/deploy.md "Backups"): a pg_dump in custom format, a manifest naming
# the secrets kept elsewhere, checksums. `make restore BACKUP=backups/iop-...` restores into an
# empty database (RESTORE_ARGS="--database iop_restored"), migrates and fences the reminder outbox.
BACKUP_DIR ?= backups
backup:
	$(BIN)/python scripts/backup.py --dir $(BACKUP_DIR) $(BACKUP_ARGS)

restore:
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backups/iop-... [RESTORE_ARGS=...]"; exit 2; }
	$(BIN)/python scripts/restore.py $(BACKUP) $(RESTORE_ARGS)

clean:
	rm -rf $(VENV) var db.sqlite3 staticfiles
