#!/bin/sh
# `make verdicts` on the committed records only, for when runs keep storing records in results/:
# the chapters execute in a clean worktree of HEAD (its code, its records), and the rewritten
# verdict outputs and tests/snapshots/verdicts.json are copied back into this checkout, ready to
# commit. Commit the records first; the chapter notebooks and the snapshot must be unmodified here.
#
#     sh tools/verdicts_at_head.sh
set -eu
root=$(git rev-parse --show-toplevel)
cd "$root"
if ! git diff --quiet HEAD -- notebooks tests/snapshots/verdicts.json; then
    echo "notebooks/ or tests/snapshots/verdicts.json has uncommitted changes: commit or drop them first" >&2
    exit 2
fi
work=$(mktemp -d)
trap 'git worktree remove --force "$work/head" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add -q --detach "$work/head" HEAD
notebooks=$(PYTHONPATH="$work/head/src" .venv/bin/python -c \
    "from kcl.book.assets import chapter_notebooks; print(' '.join(f'notebooks/{n}.ipynb' for n in chapter_notebooks()))")
mkdir -p "$work/head/_build/verdicts"
cd "$work/head"
for nb in $notebooks; do
    PYTHONPATH="$work/head/src" HF_HUB_OFFLINE=1 "$root/.venv/bin/papermill" --log-level ERROR \
        "$nb" "_build/verdicts/$(basename "$nb")" -p profile cpu
done
PYTHONPATH="$work/head/src" "$root/.venv/bin/python" tests/verdict_snapshot.py _build/verdicts
for nb in $notebooks; do cp "$nb" "$root/$nb"; done
cp tests/snapshots/verdicts.json "$root/tests/snapshots/verdicts.json"
cd "$root"
git status --short -- notebooks tests/snapshots/verdicts.json
