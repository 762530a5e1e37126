#!/usr/bin/env bash
# The check a lent GPU runs before the gpu profile's chapters do (at most BUDGET seconds, 7 minutes):
#   1. the tests marked `cuda` (tests/test_cuda.py: CUDA against the CPU, runs on CUDA);
#   2. python -m kcl.gpu_check: the precision check (the reference run in TF32 and in bf16, R
#      against the committed seed spread -> precision.json) and a short gpu-profile run (tokens/s,
#      MFU against the device's peak, its bits, the renderer's tokens/s -> gpu_run.json);
#   3. every chapter notebook in the smoke profile through papermill (tests/test_notebooks.py),
#      in parallel, for whatever time the budget leaves.
# Results go to $OUT when set (the device tool brings it back), else results/bench/gpu/ on CUDA and
# build/gpu-check/ elsewhere: gpu_check.log, summary.json, precision.json, gpu_run.json.
#
#   tools/gpu_check.sh                        # on the GPU (CUDA when present)
#   tools/gpu_check.sh --device cpu --quick   # the same steps on the CPU, in seconds (a test runs it)
#
# Packages the device image lacks (papermill, ipykernel, altair, ...) come as wheels in .whl/
# (tools/gpu_wheels.sh fetches them here); they are installed into a temporary folder first.
# Environment: PY (the Python, default .venv/bin/python if present, else python3), BUDGET (seconds
# for the whole script, default 420: each step stops at what is left of it, and the notebooks take
# what the others leave), NOTEBOOK_WORKERS (default 8).
set -uo pipefail
cd "$(dirname "$0")/.."

device=auto
quick=""
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --quick) quick="--quick"; shift ;;
    *) echo "usage: tools/gpu_check.sh [--device cuda|cpu|auto] [--quick]" >&2; exit 2 ;;
  esac
done

started=$SECONDS
budget=${BUDGET:-420}
if [ -z "${PY:-}" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
if ls .whl/*.whl >/dev/null 2>&1; then
  site=/tmp/kcl-gpu-site
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl \
    && export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PY" -c "import kcl" 2>/dev/null || export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
if [ "$device" = auto ]; then
  device=$("$PY" -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")
fi
if [ -n "${OUT:-}" ]; then out=$OUT; elif [ "$device" = cuda ]; then out=results/bench/gpu; else out=build/gpu-check; fi
mkdir -p "$out"
exec > >(tee -a "$out/gpu_check.log") 2>&1

steps=$(mktemp)  # one line per step: name, exit status (or why it did not run), seconds
trap 'rm -f "$steps"' EXIT
step() {  # step NAME COMMAND...: run it, keep its exit status and seconds
  local name=$1 t0=$SECONDS rc
  shift
  echo "== $name: $*"
  "$@"
  rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" >>"$steps"
  echo "== $name: exit $rc after $((SECONDS - t0)) s"
}
left() {  # seconds of the budget left, less a margin for the summary
  echo $((budget - (SECONDS - started) - 15))
}
skip() {  # skip NAME WHY
  printf '%s\t%s\t0\n' "$1" "$2" >>"$steps"
  echo "== $1: skipped, $2"
}

echo "== gpu_check on $device${quick:+ (quick)}, results in $out, budget ${budget} s"
"$PY" -c "import torch; print('torch', torch.__version__, '|', torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"

step cuda_tests timeout "$(left)" "$PY" -m pytest -q -p no:cacheprovider -m cuda tests/test_cuda.py -rs
step gpu_check timeout "$(left)" "$PY" -m kcl.gpu_check --device "$device" $quick --out "$out"

if [ -n "$quick" ]; then
  skip notebooks "quick"
elif ! "$PY" -c "import papermill, nbformat, ipykernel, altair, myst_nb" 2>/dev/null; then
  skip notebooks "missing: papermill, ipykernel, altair or myst_nb (carry them: tools/gpu_wheels.sh)"
else
  parallel=()
  "$PY" -c "import xdist" 2>/dev/null && parallel=(-n "${NOTEBOOK_WORKERS:-8}")
  if [ "$(left)" -lt 60 ]; then
    skip notebooks "no time: $(left) s of the budget left"
  else
    step notebooks timeout "$(left)" "$PY" -m pytest -q -p no:cacheprovider tests/test_notebooks.py \
      -k smoke "${parallel[@]}" -o timeout=600
  fi
fi

"$PY" tools/gpu_check_summary.py "$out" "$((SECONDS - started))" "$steps"
