# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-sqlite test-postgresql bench install install-dev clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: install, migrate, seed the demo accounts, load content/ and serve on http://127.0.0.1:5000
run: $(VENV)/.installed
	$(FLASK) lms init
	$(FLASK) lms content load content/
	$(FLASK) lms init --demo
	$(FLASK) run --host $(HOST) --port $(PORT)

## test: the whole suite on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set
test: $(VENV)/.installed-dev
	LMS_TEST_BACKEND=sqlite $(PY) -m pytest $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$TEST_DATABASE_URL)"; \
		LMS_TEST_BACKEND=postgresql $(PY) -m pytest $(PYTEST_ARGS); \
	else \
		echo "TEST_DATABASE_URL is not set: the PostgreSQL run was skipped."; \
	fi

## bench: pages under wrk, mixed load, quiz spike, report, export, certificates: one table and bench/results.md (options in bench/run.py)
bench: $(VENV)/.installed-dev
	@command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk"; exit 1; }
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache
