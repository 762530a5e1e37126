#!/usr/bin/env bash
# Run sweep files one after another (never two trainings at once on 2 cores), resumably:
#   tools/run_queue.sh sweeps/pilot-lr-100.yaml sweeps/pilot-lr-1000.yaml  >> runs/queue.log 2>&1 &
# Each finished run is a record in its store at once; a killed queue resumes from the store and
# from the run's own checkpoint (checkpoints/) when started again with the same files.
set -uo pipefail
cd "$(dirname "$0")/.."
KCL=${KCL:-.venv/bin/kcl}
WORKERS=${WORKERS:-2}  # runs at once (see the Performance page)
for sweep in "$@"; do
  echo "== $(date -u +%FT%TZ) $sweep"
  "$KCL" sweep "$sweep" --no-progress --workers "$WORKERS" || { echo "== $sweep failed (exit $?)"; exit 1; }
done
echo "== $(date -u +%FT%TZ) queue done"
