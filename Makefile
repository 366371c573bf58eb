# omemo-desktop — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
export QT_API := pyside6

.PHONY: run test demo bench lint typecheck deb clean venv

$(VENV)/.installed-run: pyproject.toml
	scripts/install-system-deps.sh run
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	scripts/install-system-deps.sh test
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(VENV)/.installed-run $@

## Install everything and start the app.
run: $(VENV)/.installed-run
	$(VENV)/bin/omemo-desktop

## Install everything the tests need, then lint, type-check and run the whole suite.
test: $(VENV)/.installed-test
	$(VENV)/bin/ruff check omemo_desktop tests benchmarks scripts packaging
	$(VENV)/bin/ruff format --check omemo_desktop tests benchmarks scripts packaging
	$(VENV)/bin/mypy omemo_desktop/omemo omemo_desktop/storage omemo_desktop/service omemo_desktop/xmpp
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider
	bash packaging/check_deb.sh

## A throw-away local server with two accounts and two app windows logged into them.
demo: $(VENV)/.installed-test
	$(PY) scripts/demo.py

## Benchmarks: medians beside the reference implementations, written to benchmarks/results/latest.md
## (~10 min; `make bench BENCH_ARGS=--quick` for a sanity run in seconds).
bench: $(VENV)/.installed-test
	$(PY) -m benchmarks $(BENCH_ARGS)

## The Debian package in dist/, xz-compressed as the Debian archive wants; see packaging/README.md.
deb: $(VENV)/.installed-test
	DEB_COMPRESSION=xz bash packaging/build_deb.sh dist

lint:
	$(VENV)/bin/ruff check omemo_desktop tests benchmarks scripts packaging

clean:
	rm -rf $(VENV) build dist *.egg-info
