# The two Quick start commands: `make run` and `make test`. Each sets up what it needs first.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
INDEX ?= paperscope-index
PORT ?= 8000
export HF_HUB_OFFLINE := 1

.PHONY: install install-dev run test test-extras lint

$(VENV)/bin/activate:
	python3 -m venv $(VENV)

# torch is pinned in the same pip call so that the local CPU build is used (no CUDA packages).
install: $(VENV)/bin/activate
	$(PIP) install -q --disable-pip-version-check torch==2.13.0 -e .

install-dev: $(VENV)/bin/activate
	$(PIP) install -q --disable-pip-version-check torch==2.13.0 -e ".[dev]"

run: install
	$(VENV)/bin/paperscope ingest sample/ --index $(INDEX)
	$(VENV)/bin/paperscope serve --index $(INDEX) --port $(PORT)

# The browser tests drive the Debian chromium; installed here (as root) only when it is missing.
test: install-dev
	@[ -x /usr/bin/chromium ] || command -v chromium >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver)
	$(PY) -m pytest

# The optional extras' tests, which `make test` skips without them: Ray (a real local cluster)
# and Qdrant (local mode, in-process): its own tests, then the API module on the Qdrant backend.
test-extras: install-dev
	$(PIP) install -q --disable-pip-version-check torch==2.13.0 -e ".[dev,ray,qdrant]"
	$(PY) -m pytest tests/test_embed.py tests/test_qdrant_backend.py
	$(PY) -m pytest tests/test_api.py -k qdrant

lint: install-dev
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
