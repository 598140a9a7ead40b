# Two commands do all the set-up: `make app` runs the demo, `make test` runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: app test

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

app: $(VENV)/.installed
	$(PY) app.py

test: $(VENV)/.installed
	$(PY) -m pytest -q
