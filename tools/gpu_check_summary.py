"""The end of ``tools/gpu_check.sh``: ``summary.json`` (each step's exit status, or why it was
skipped, and its seconds) and the numbers to read, printed; exits 1 when a step that ran failed.

    python tools/gpu_check_summary.py OUT SECONDS STEPS_FILE   # STEPS_FILE: name<TAB>status<TAB>seconds lines
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def read_steps(path: Path) -> dict:
    steps = {}
    for line in path.read_text().splitlines():
        name, status, seconds = line.split("\t")
        steps[name] = {"status": int(status) if status.isdigit() else status, "seconds": int(seconds)}
    return steps


def read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def report(out: Path) -> list[str]:
    """The lines worth reading from the check's JSON files in ``out``."""
    lines = []
    if run := read_json(out / "gpu_run.json"):
        lines.append(f"gpu-profile run: {run['config']} on {run['device']}, {run['run']['precision']}: "
                     f"{run['run']['tokens_per_second']:,.0f} tokens/s, MFU {run['mfu']:.2%} of "
                     f"{run['peak_tflops']:g} TFLOP/s ({run['peak_source']}), {run['run']['bits']:,.0f} bits, "
                     f"R = {run['run']['R']:.4f}")
        lines += [f"batches with {row['workers']} render worker(s): {row['tokens_per_s']:,} tokens/s"
                  for row in run["rendering"]]
    if precision := read_json(out / "precision.json"):
        runs, sd = precision["runs"], precision["reference_seeds"]["sd"]
        lines.append(f"precision: R {runs['default']['precision']} {runs['default']['R']:.4f}, bf16 "
                     f"{runs['bf16']['R']:.4f}, the seeds' sd {sd if sd is None else round(sd, 4)}; "
                     f"bf16 keeps the bits: {precision['bf16_keeps_bits']}")
    return lines


def main(argv: list[str]) -> int:
    out, total, steps = Path(argv[0]), int(argv[1]), read_steps(Path(argv[2]))
    (out / "summary.json").write_text(json.dumps({"seconds": total, "steps": steps}, indent=1) + "\n")
    for line in report(out):
        print(f"== {line}")
    print(f"== done in {total} s: " + ", ".join(f"{name} {step['status']}" for name, step in steps.items()))
    return 0 if all(step["status"] == 0 for step in steps.values() if isinstance(step["status"], int)) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
