# Two entry points: `make run` and `make test`. Both bootstrap .venv from a bare python3.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# What is installed, by what it was installed from: `make run` needs the runtime only; `make test` adds the
# tests, lint, browser driver and Spark (requirements-dev.txt, requirements-spark.txt).
STAMP      := $(VENV)/.installed-run-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
TEST_STAMP := $(VENV)/.installed-test-$(shell cat requirements.txt requirements-dev.txt requirements-spark.txt | cksum | cut -d' ' -f1)
DB     ?= data/insight.duckdb
DEMO   ?= data/demo

SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test venv demo bench browser java clean
# pip compiles every installed file on one core (24 s of a 49 s install here); compileall does it on every
# core after the install (14 s). Not compiling at all cost more: the test processes then compiled the same
# modules side by side when they first imported them (pytest 45 s slower).
PIP_FLAGS := --quiet --disable-pip-version-check --no-compile
COMPILE   = $(PY) -m compileall -q -j 0 $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') >/dev/null

venv: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install $(PIP_FLAGS) -r requirements.txt
	$(COMPILE)
	rm -f $(VENV)/.installed-run-* && touch $(STAMP)

$(TEST_STAMP): $(STAMP) requirements-dev.txt requirements-spark.txt
	$(PY) -m pip install $(PIP_FLAGS) -r requirements.txt -r requirements-dev.txt \
	  -r requirements-spark.txt
	$(COMPILE)
	rm -f $(VENV)/.installed-test-* && touch $(TEST_STAMP)

# Demo data is generated and imported only when there is no store yet; the store file
# appears only once the import has succeeded.
$(DB): | $(STAMP)
	test -f $(DEMO)/demo.json || $(PY) -m insight demo --out $(DEMO)
	rm -f $(DB).tmp $(DB).tmp.wal
	$(PY) -m insight import --db $(DB).tmp --report-dir data/imports/demo $(DEMO)
	mv $(DB).tmp $(DB)

demo: $(DB)

# Only this machine can reach the app unless you ask: `make run ADDRESS=0.0.0.0` serves other
# machines too — every page then asks for an account (README, Deployment); until the first admin
# exists, the server answers 127.0.0.1 only.
ADDRESS ?= 127.0.0.1
PORT    ?= 8501

run: $(STAMP) $(DB)
	$(PY) -m insight serve --db $(DB) --host $(ADDRESS) --port $(PORT)

# The browser test drives Debian's Chromium (Playwright's own browser download is not used);
# CJK fonts so that screenshots show Chinese, not boxes.
browser:
	@command -v chromium >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 && \
	  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || { \
	  echo "Installing chromium, fonts-noto-cjk and poppler-utils (apt-get)…"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk poppler-utils >/dev/null; }

# Spark (build-parts --engine spark, and its parity test) runs on Java 17 or newer: Debian's headless JRE.
java:
	@java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])' || { \
	  echo "Installing openjdk-17-jre-headless (apt-get) for Spark…"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

# Two processes, a test file each at a time (its module fixtures, e.g. one server, stay in one process),
# in the order tests/conftest.py gives (longest first; xdist would otherwise reorder by the number of tests).
# (Three on two cores was measured slower: 8:18 against 8:07 for the same 716 tests.)
test: $(TEST_STAMP) browser java
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

bench: $(TEST_STAMP) browser
	$(PY) bench/pipeline.py
	$(PY) bench/floor.py
	$(PY) bench/pages.py
	$(PY) bench/scenarios.py

clean:
	rm -rf $(VENV) .pytest_cache
