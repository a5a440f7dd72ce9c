# Bootstrap a virtual environment with the pinned stack, then run things in it.
#   make demo   train + evaluate the CPU demo on the embedded CamVid subset
#   make test   run the test suite (make test-fast: without the slow tests
#               that start tools, demos or torchrun in subprocesses)
#   make lint   flake8, isort and yapf checks (make format applies isort/yapf)
#   make bench  each model against the same layers in plain PyTorch, written
#               to benchmarks/results/speed.{md,json} (options: BENCH_ARGS=
#               "--families segnet --size 512 512"; python
#               benchmarks/speed.py -h), and the data pipeline's share of
#               the CPU recipes' training step (work_dirs/camvid_cpu)
# Re-running skips what is installed. GPU users: see README ("GPU install").

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.mmseg_ext-installed
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_CFG := configs/demo/fcn8s_vgg16-bn-w16_1xb8-1k_camvid-small-180x240.py
DEMO_DIR := work_dirs/demo
LINT_PATHS := mmseg_ext configs tools tests demo benchmarks setup.py
BENCH_ARGS ?=

.PHONY: install demo test test-fast lint format bench clean-venv

install: $(STAMP)

$(STAMP): requirements/build.txt requirements/runtime.txt requirements/tests.txt \
		requirements/lint.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements/build.txt
	# torch first, unless the venv already has one (e.g. a CUDA build)
	$(PY) -c 'import torch' 2>/dev/null || $(PIP) install 'torch==2.13.0'
	# mmcv 2.1.0 has no binary wheel for this torch: build it with its ops
	$(PY) -c 'import mmcv.ops, mmcv; assert mmcv.__version__ == "2.1.0"' \
		2>/dev/null || MMCV_WITH_OPS=1 MAX_JOBS=$(JOBS) \
		$(PIP) install --no-build-isolation 'mmcv==2.1.0'
	$(PIP) install -r requirements/runtime.txt -r requirements/tests.txt \
		-r requirements/lint.txt
	$(PIP) install --no-build-isolation --no-deps -e .
	touch $@

demo: $(STAMP)
	$(PY) tools/train.py $(DEMO_CFG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CFG) $$(cat $(DEMO_DIR)/last_checkpoint) \
		--work-dir $(DEMO_DIR) --show-dir $(DEMO_DIR)/overlays
	@echo "prediction overlays: $(DEMO_DIR)/overlays/vis_data/vis_image/"

test: $(STAMP)
	$(PY) -m pytest tests

test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not slow"

bench: $(STAMP)
	$(PY) benchmarks/speed.py --out benchmarks/results/speed $(BENCH_ARGS)
	@if [ -d work_dirs/camvid_cpu ]; then \
		$(PY) benchmarks/data_time.py --work-root work_dirs/camvid_cpu \
			--out benchmarks/results/data_time.md; \
	else echo "no work_dirs/camvid_cpu: data_time report skipped"; fi

lint: $(STAMP)
	$(PY) -m flake8 $(LINT_PATHS)
	$(PY) -m isort --check-only --diff $(LINT_PATHS)
	$(PY) -m yapf --diff --recursive $(LINT_PATHS)

format: $(STAMP)
	$(PY) -m isort $(LINT_PATHS)
	$(PY) -m yapf --in-place --recursive $(LINT_PATHS)

clean-venv:
	rm -rf $(VENV)
