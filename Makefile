# Two commands matter: `make demo` and `make test`. Everything else is for developers.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= $(CURDIR)/.demo
# Debian packages the integration tests and benchmarks start (installed only when missing).
TEST_DEBS := dovecot-imapd isync offlineimap chromium systemd postgresql

# setuptools warns on every editable install that folders named like the package may shadow it;
# the one such folder here is the package itself (the reason is in pyproject.toml), so that one
# notice is filtered out, nothing else.
EDITABLE_ENV := PYTHONWARNINGS="ignore:Editable installation"

.PHONY: venv demo test test-deps fuzz bench lint format clean migration dist mutate

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(EDITABLE_ENV) $(BIN)/pip install -q -e '.[test]'
	touch $@

demo: venv
	$(BIN)/kith demo --dir $(DEMO_DIR)

test-deps:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi; \
	  echo "installing test servers:$$missing"; \
	  ($$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null) \
	    || echo "warning: could not install$$missing; the tests that need them will say so"; \
	fi

test: venv test-deps
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

# the hostile-mail fuzz, longer than the bounded run in `make test` (FUZZ_EXAMPLES per test);
# the counts are printed and written to bench/results/fuzz.json
fuzz: venv test-deps
	KITH_FUZZ_PROFILE=fuzz FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-400} KITH_FUZZ_REPORT=$(CURDIR)/bench/results/fuzz.json \
	  $(BIN)/pytest -p no:cacheprovider --timeout=0 tests/hostile/test_fuzz.py $(PYTEST_ARGS)

# Mutation testing of the rules, message identity, cursors and header parsing (issue 29): each
# mutant against the fast tests of its module; slow, so not part of `make test` (which runs a
# smoke subset, tests/tools/test_mutate.py). MUTATE_ARGS: e.g. --module connectors/headers.py --jobs 2.
# Writes bench/results/mutation.json; `python -m tests.tools.mutate --table bench/results/mutation_before.json`
# prints the before/after table.
mutate: venv
	$(BIN)/python -m tests.tools.mutate $(MUTATE_ARGS)

bench: venv test-deps
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --config-file pyproject.toml kith config connectors store analysis report daemon cli web

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The wheel and sdist a user installs (`pip install dist/kithd-*.whl`); tests/test_dist.py installs
# the same build in a fresh venv and runs it.
dist: venv
	rm -rf dist build
	$(BIN)/python -m build --outdir dist
	$(BIN)/twine check --strict dist/*

clean:
	rm -rf $(VENV) $(DEMO_DIR) build dist *.egg-info .pytest_cache

migration: venv
	$(BIN)/python -c "import sys; from alembic import command; from sqlalchemy import create_engine; from kith.store.migrate import alembic_config, upgrade; e = create_engine('sqlite://'); upgrade(e); cfg = alembic_config(e); c = e.connect(); cfg.attributes['connection'] = c; command.revision(cfg, message=sys.argv[1], autogenerate=True)" "$(MSG)"
