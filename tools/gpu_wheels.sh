#!/usr/bin/env bash
# Fetch, here, the wheels that tools/gpu_check.sh needs on a lent GPU machine and that its image
# lacks (it has torch, transformers, pandas, scipy, pytest, pytest-xdist and no network): what runs
# the notebooks (papermill, ipykernel, nbformat, myst-nb's glue) and draws their charts (altair,
# ipywidgets), each at the version this checkout's .venv holds, built for the machine's Python 3.12
# on x86-64. They go to .whl/ (kept out of git by .git/info/exclude), about 15 MB; name `.whl` in
# the device tool's `carry`, and gpu_check.sh installs them into a temporary folder there.
#
#   tools/gpu_wheels.sh            # then: run tools/gpu_check.sh on the device with carry [".whl"]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PACKAGES=(papermill nbclient nbformat jupyter_client jupyter_core ipykernel ipython ipython_pygments_lexers
  traitlets tornado pyzmq debugpy comm matplotlib-inline nest-asyncio2 jedi parso prompt_toolkit wcwidth pexpect
  ptyprocess stack_data executing asttokens pure_eval platformdirs fastjsonschema jsonschema
  jsonschema-specifications referencing rpds-py altair ipywidgets widgetsnbextension jupyterlab_widgets tenacity
  entrypoints myst-nb docutils)

exclude=$(git rev-parse --git-path info/exclude)
grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >>"$exclude"
mkdir -p .whl
pins=$("$PY" -c 'import sys, importlib.metadata as m; print(" ".join(f"{n}=={m.version(n)}" for n in sys.argv[1:]))' \
  "${PACKAGES[@]}")
platforms=()
for tag in manylinux_2_28 manylinux_2_27 manylinux_2_26 manylinux_2_17 manylinux2014 manylinux_2_5 manylinux1; do
  platforms+=(--platform "${tag}_x86_64")
done
# shellcheck disable=SC2086  # the pins are separate words
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${platforms[@]}" -d .whl $pins
du -sh .whl
