# Two commands do all the set-up: `make app` runs the demo, `make test` runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: app test browser search-quality

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Debian's Chromium for the browser test (Playwright drives it; its own browser download
# does not work offline). Does nothing when /usr/bin/chromium is already there.
browser:
	bash .ci/setup-browser.sh

app: $(VENV)/.installed
	$(PY) app.py

test: $(VENV)/.installed browser
	$(PY) -m pytest -q

# Re-measures the optimizers on every benchmark, then the conversation turns (about four
# hours on 2 CPU cores; `experiments.compare --benchmarks …` in parallel processes halves it);
# writes benchmarks/search_quality* and benchmarks/dialogue_and_fluency.*.
search-quality: $(VENV)/.installed
	$(PY) -m experiments.compare
	$(PY) -m experiments.dialogue --seeds 3 --pictures 12 --threads 1
