# Two commands set up everything on a fresh machine with nothing but Python:
#   make demo   -> self-supervised SR of a built-in brain volume, figure + metrics table in demo_out/
#   make test   -> the test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := $(VENV)/.chromium

.PHONY: demo test test-fast lint bench table1 train-shipped clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the CPU build of torch that lies on this disk, before anything that depends on torch
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/medsr demo --out demo_out

# ruff's default rules plus pycodestyle (E, W), line length 100: configured in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

# headless Chromium for the report test (tests/bench/test_report_html.py): Debian's package,
# installed when missing and running as root (CI runs `make test` as root on a clean Debian)
$(CHROMIUM):
	@mkdir -p $(VENV); if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		touch $@; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
		&& touch $@; \
	else \
		echo "headless Chromium is missing and this is not root: install Debian's chromium" \
			"package (the report test needs it)" >&2; \
	fi

test: lint $(CHROMIUM)
	$(BIN)/python -m pytest -n 2 -q

test-fast: lint $(CHROMIUM)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

table1: $(STAMP)
	$(BIN)/python benchmarks/table1.py

# the trainings of the shipped weights (hours of CPU), in the background, resumable: run it again
# after a stop; the lock in shipped_runs/ keeps a second copy from starting
train-shipped: $(STAMP)
	mkdir -p shipped_runs
	setsid nohup nice -n 19 env OMP_NUM_THREADS=1 $(BIN)/python benchmarks/train_shipped.py \
		>> shipped_runs/train.log 2>&1 < /dev/null &
	@echo "log: shipped_runs/train.log; progress: $(BIN)/python benchmarks/train_shipped.py --status"

clean:
	rm -rf $(VENV) demo_out build *.egg-info
