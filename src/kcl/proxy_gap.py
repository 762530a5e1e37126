"""The fillers diagnostic (book/protocol.md, "Diagnostics", 2026-12-04; ``kcl chapter bior-fillers``):
do the bioR proxy's filler sentences cost it its bits? bioS, the proxy without filler sentences and
the proxy as result 2 trains it, at N = 1000, one rate and one seed, read by a rule written before
its runs.

Bits, not R, are compared: the three vocabularies differ (the filler words, the proxy's larger
template pool), so the same bits are a different R under the engine's count.
"""

from __future__ import annotations

import pandas as pd

from kcl.catalog import data_name
from kcl.stats import r_interval

#: the rule (book/protocol.md): the proxy without fillers "stores more" when its bits exceed the
#: proxy's by more than this share of them and its 95% bootstrap interval of the bits lies wholly
#: above the proxy's; it "stores about as much as bioS" when within this share of bioS's bits or above
FILLERS_GAIN = 0.10
CHAPTER = "bior-fillers"
RUNS = {"bioS": "bioS", "bioR-proxy fillers 0–0": "proxy without fillers", "bioR-proxy": "proxy (1–3 fillers)"}


def fillers_frame(records: list[dict]) -> pd.DataFrame:
    """One row per run of the diagnostic, in ``RUNS`` order: its bits with their interval, the
    maximum and the share stored, R with its interval (engine's count) and per non-embedding
    parameter, the counted parameters and the steps."""
    rows = []
    for record in records:
        c, r = record["config"], record["result"]
        low, high = r["bits_ci"]
        r_low, r_high = r_interval(r)
        rows.append({"run": RUNS.get(data_name(c["data"]), data_name(c["data"])), "N": c["data"]["n_people"],
                     "lr": c["train"]["lr"], "seed": c["train"]["seed"], "steps": r["train"]["steps"],
                     "bits": r["bits"], "bits_low": low, "bits_high": high, "max_bits": r["max_bits"],
                     "share": r["bits"] / r["max_bits"], "bits_names": r["bits_name"], "bits_values": r["bits_value"],
                     "R": r["R"], "R_low": r_low, "R_high": r_high, "P": r["params"]["total"],
                     "R_non_embedding": r["R_non_embedding"]})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    order = {label: i for i, label in enumerate(RUNS.values())}
    return frame.sort_values("run", key=lambda runs: runs.map(order)).reset_index(drop=True)


def _bits(row) -> str:
    return f"{row.bits / 1000:.1f}K [{row.bits_low / 1000:.1f}K, {row.bits_high / 1000:.1f}K]"


def fillers_reading(frame: pd.DataFrame) -> str:
    """The rule written before the runs, on ``fillers_frame`` of all three runs."""
    runs = {row.run: row for row in frame.itertuples()}
    missing = [label for label in RUNS.values() if label not in runs]
    if missing:
        return "The rule written before these runs is read once all three are stored (missing: " + ", ".join(missing) + ")."
    bios, bare, proxy = (runs[label] for label in RUNS.values())
    gain = (bare.bits - proxy.bits) / max(abs(proxy.bits), 1.0)  # bits can be 0 or negative
    head = (f"Without its filler sentences the proxy stores {_bits(bare)} bits, with them {_bits(proxy)} "
            f"({gain:+.0%}), bioS {_bits(bios)} (95% bootstrap intervals over people; one rate, one seed).")
    if not (gain > FILLERS_GAIN and bare.bits_low > proxy.bits_high):
        return (head + f" By the rule written before the runs, the fillers **do not** cost the proxy its bits "
                f"(not more than {FILLERS_GAIN:.0%} more without them, with the intervals apart): they do not "
                "account for its gap to bioS.")
    reading = head + " By the rule written before the runs, the fillers **cost the proxy bits**"
    if bare.bits >= (1 - FILLERS_GAIN) * bios.bits:
        return reading + (f", and without them it stores about as much as bioS or more (within {FILLERS_GAIN:.0%}): "
                          "at this N they account for the proxy's gap to bioS.")
    return reading + (f"; without them it still stores {1 - bare.bits / bios.bits:.0%} less than bioS: the rest of "
                      "the gap lies with the proxy's fixed rewrites or its larger template pool (this diagnostic "
                      "does not split them).")


def section(profile: str = "cpu", root=None) -> list:
    """What result 2's page shows of the diagnostic: its reading (or what is still missing, with the
    command) and the table of its runs; Markdown strings and a frame."""
    if profile == "smoke":
        return ["*The smoke profile stores nothing to read: the fillers diagnostic is shown from the cpu "
                "profile's records.*"]
    from kcl.progress import stored_so_far

    so_far = stored_so_far(CHAPTER, profile, root)
    frame = fillers_frame(so_far.parts.get("main", []))
    items = [fillers_reading(frame)]
    if not so_far.complete:
        items.append(f"*Stored so far: {so_far.summary()}; `kcl chapter {CHAPTER} --ranks 2` trains the rest "
                     f"(`--dry-run` for its estimated cost).*")
    if not frame.empty:
        items.append(frame.round(3))
    return items
