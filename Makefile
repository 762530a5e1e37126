# Two entry points (see README): `make book` (the main job) and `make test`.
# Both create .venv and install what is missing first; torch comes as the CPU wheel first, or pip
# would take a multi-GB CUDA build.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==2.13.0" || $(BIN)/python -m pip install -q "torch>=2.6"
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# The main job. Until the book exists: the reference measurement (issue 2), resumable from
# results/reference (a finished record is printed, not retrained).
book: $(STAMP)
	$(BIN)/kcl sweep sweeps/reference.yaml

reference: $(STAMP)
	$(BIN)/kcl sweep sweeps/reference.yaml

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

.PHONY: install book reference test
