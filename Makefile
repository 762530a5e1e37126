# Two entry points (see README): `make book` (the main job) and `make test`.
# Both create .venv and install what is missing first; torch comes as the CPU wheel first, or pip
# would take a multi-GB CUDA build.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS := test,notebooks,book

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==2.13.0" || $(BIN)/python -m pip install -q "torch>=2.6"
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

# The main job: the book, from the committed records in results/ (it never trains; a missing or
# stale record fails the build with the command that recomputes it). Steps: generated assets
# (offline Vega, MathJax, the widgets manager, runs.csv), then Jupyter Book runs every page and
# builds the site. Pages are cached by jupyter-cache, which only sees their code, so the cache is
# dropped whenever results/, sweeps/ or src/kcl/ change.
INPUTS_DIGEST = $$(find results sweeps src/kcl -type f \( -name '*.json' -o -name '*.yaml' -o -name '*.py' \) \
	-not -path '*/__pycache__/*' 2>/dev/null | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)

book: $(STAMP)
	$(BIN)/python -m kcl.book.assets
	@mkdir -p _build; digest=$(INPUTS_DIGEST); \
	if [ "$$(cat _build/.inputs-digest 2>/dev/null)" != "$$digest" ]; then \
		echo "results/, sweeps/ or src/kcl/ changed: re-running every page"; rm -rf _build/.jupyter_cache; fi; \
	echo $$digest > _build/.inputs-digest
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter-book build . --all
	@echo; echo "The book: open _build/html/index.html"

# The reference measurement (issue 2), resumable from results/reference.
reference: $(STAMP)
	$(BIN)/kcl sweep sweeps/reference.yaml

# The law chapters' runs (issue 5), in order, WORKERS runs at once (each on cpu_count/WORKERS
# threads: on 2 cores two one-thread runs do more than one two-thread run, see the Performance
# page); resumable: finished records are skipped and a killed run resumes from checkpoints/.
# Many CPU-hours; run it in the background. result2 (protocol v2) stopped after its bioS and
# bioS-simple runs; result2-v3 (batch 8, at least 50K steps) followed; protocol v4 (result2-v4, a subword
# tokenizer) decides result 2. `kcl chapter --list` shows each chapter's versions; a chapter's own
# name (result2, result4-bios) means its deciding version, so older ones are named here by protocol.
WORKERS ?= 2
chapters: $(STAMP)
	$(BIN)/kcl chapter result1 --workers $(WORKERS)
	$(BIN)/kcl chapter result4 --workers $(WORKERS)
	$(BIN)/kcl chapter result4-v2 --workers $(WORKERS)
	$(BIN)/kcl chapter result3 --workers $(WORKERS)
	$(BIN)/kcl chapter result1-bios --workers $(WORKERS)
	$(BIN)/kcl chapter bios-steps --workers $(WORKERS)
	$(BIN)/kcl chapter result2-v3 --workers $(WORKERS)
	$(BIN)/kcl chapter result4-bios --version v1 --workers $(WORKERS)
	$(BIN)/kcl chapter result4-bios-v2 --workers $(WORKERS)
	$(BIN)/kcl chapter result4-bios-v3 --workers $(WORKERS)
	$(BIN)/kcl chapter bios-position --workers $(WORKERS)
	$(BIN)/kcl chapter bios-pools --workers $(WORKERS)
	$(BIN)/kcl chapter bios-simple --workers $(WORKERS)
	$(BIN)/kcl chapter bior-fillers --workers $(WORKERS)
	$(BIN)/kcl chapter bior-templates --workers $(WORKERS)
	$(BIN)/kcl chapter result2-v4 --workers $(WORKERS)
	$(BIN)/kcl chapter result8 --workers $(WORKERS)
	$(BIN)/kcl chapter result5 --workers $(WORKERS)
	$(BIN)/kcl chapter result9 --workers $(WORKERS)
	$(BIN)/kcl chapter recipe-100 --workers $(WORKERS)
	$(BIN)/kcl chapter result4-bios-v4 --workers $(WORKERS)
	$(BIN)/kcl chapter result6 --workers $(WORKERS)
	$(BIN)/kcl chapter result7 --workers $(WORKERS)
	$(BIN)/kcl chapter result10 --workers $(WORKERS)
	$(BIN)/kcl chapter result11 --workers $(WORKERS)
	$(BIN)/kcl chapter result12 --workers $(WORKERS)

# The tests and every chapter's verdict cell re-executed on the committed records by nbval and
# compared with the output committed in its notebook (`make verdicts` rewrites those outputs and
# tests/snapshots/verdicts.json after a change of the records or of a verdict rule), in one pytest
# run on TEST_WORKERS processes (pytest-xdist). Each test file and each notebook runs whole in one
# process (--dist loadfile: nbval's cells in order, the book built once); the largest files start
# first. One thread each: two processes of two threads on two cores wait on each other.
TEST_WORKERS ?= 2
DURATIONS ?= 15
CHAPTER_NOTEBOOKS = $$($(BIN)/python -c "from kcl.book.assets import chapter_notebooks; print(' '.join(f'notebooks/{n}.ipynb' for n in chapter_notebooks()))")
test: $(STAMP)
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q --durations=$(DURATIONS) -n $(TEST_WORKERS) --dist loadfile \
		-p no:cacheprovider --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval-sanitize.cfg \
		tests $(CHAPTER_NOTEBOOKS)

verdicts: $(STAMP)
	@rm -rf _build/verdicts; mkdir -p _build/verdicts
	for nb in $(CHAPTER_NOTEBOOKS); do \
		$(BIN)/papermill --log-level ERROR $$nb _build/verdicts/$$(basename $$nb) -p profile cpu || exit 1; done
	$(BIN)/python tests/verdict_snapshot.py _build/verdicts

.PHONY: install book reference chapters test verdicts
