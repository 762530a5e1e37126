"""Why the bioR proxy stores less than bioS: two diagnostics (book/protocol.md, "Diagnostics"),
each read by a rule written before its runs, at N = 1000 in result 2 v3's setting, one rate, one
seed. The proxy differs from bioS in three ways: filler sentences, a larger template pool, and 40
fixed rewrites instead of a fresh text at every exposure.

* **Fillers** (``kcl chapter bior-fillers``): bioS, the proxy without filler sentences
  and the proxy as result 2 trains it. Do the fillers cost the proxy bits?
* **Templates** (``kcl chapter bior-templates``): the proxy without fillers on bioS's
  template pool alone, beside the fillers diagnostic's bioS and proxy without fillers. Of the gap
  left without fillers, how much is the larger template pool and how much the fixed rewrites?

Bits, not R, are compared: the vocabularies differ (the filler words, the proxy's larger template
pool), so the same bits are a different R under the engine's count.
"""

from __future__ import annotations

import pandas as pd

from kcl.record import Record
from kcl.records import data_name
from kcl.book.stats import r_interval
from kcl.book.plots import table
from kcl.book.progress import stored_so_far

#: the fillers rule (book/protocol.md): the proxy without fillers "stores more" when its bits exceed
#: the proxy's by more than this share of them and its 95% bootstrap interval of the bits lies wholly
#: above the proxy's; it "stores about as much as bioS" when within this share of bioS's bits or above
FILLERS_GAIN = 0.10
#: the templates rule (book/protocol.md): bioS's template pool accounts for most of the gap left
#: without fillers when it closes more than this share of it (its run's bits interval wholly above
#: the proxy without fillers'); the fixed rewrites do when it closes less (its interval wholly below bioS's)
TEMPLATES_SHARE = 0.5
CHAPTER = "bior-fillers"
TEMPLATES_CHAPTER = "bior-templates"
RUNS = {"bioS": "bioS", "bioR-proxy fillers 0–0": "proxy without fillers", "bioR-proxy": "proxy (1–3 fillers)",
        "bioR-proxy fillers 0–0 templates bioS": "proxy without fillers, bioS's templates"}
FILLERS_RUNS = tuple(RUNS[name] for name in ("bioS", "bioR-proxy fillers 0–0", "bioR-proxy"))
TEMPLATES_RUNS = tuple(RUNS[name] for name in ("bioS", "bioR-proxy fillers 0–0", "bioR-proxy fillers 0–0 templates bioS"))


def runs_frame(records: list[Record]) -> pd.DataFrame:
    """One row per run of the two diagnostics, in ``RUNS`` order: its bits with their interval, the
    maximum and the share stored, R with its interval (engine's count) and per non-embedding
    parameter, the counted parameters and the steps."""
    rows = []
    for record in records:
        data, train, r = record.data, record.train, record.result
        low, high = r["bits_ci"]
        r_low, r_high = r_interval(r)
        rows.append({"run": RUNS.get(data_name(data), data_name(data)), "N": data["n_people"],
                     "lr": train["lr"], "seed": train["seed"], "steps": r.train.steps,
                     "bits": r.bits, "bits_low": low, "bits_high": high, "max_bits": r.max_bits,
                     "share": r.bits / r.max_bits, "bits_names": r["bits_name"], "bits_values": r["bits_value"],
                     "R": r.R, "R_low": r_low, "R_high": r_high, "P": r.params.total,
                     "R_non_embedding": r.R_non_embedding})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    order = {label: i for i, label in enumerate(RUNS.values())}
    return frame.sort_values("run", key=lambda runs: runs.map(order)).reset_index(drop=True)


def _bits(row) -> str:
    return f"{row.bits / 1000:.1f}K [{row.bits_low / 1000:.1f}K, {row.bits_high / 1000:.1f}K]"


def _missing(frame: pd.DataFrame, labels) -> str | None:
    have = set(frame["run"]) if not frame.empty else set()
    missing = [label for label in labels if label not in have]
    return ("The rule written before these runs is read once all three are stored (missing: "
            + ", ".join(missing) + ").") if missing else None


def fillers_reading(frame: pd.DataFrame) -> str:
    """The fillers rule written before the runs, on ``runs_frame`` of its three runs."""
    if waiting := _missing(frame, FILLERS_RUNS):
        return waiting
    runs = {row.run: row for row in frame.itertuples()}
    bios, bare, proxy = (runs[label] for label in FILLERS_RUNS)
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
                      "does not split them; the templates diagnostic below does).")


def templates_reading(frame: pd.DataFrame) -> str:
    """The templates rule written before its run, on ``runs_frame`` of bioS and the proxy without
    fillers (the fillers diagnostic's) and the proxy without fillers on bioS's templates."""
    if waiting := _missing(frame, TEMPLATES_RUNS):
        return waiting
    runs = {row.run: row for row in frame.itertuples()}
    bios, bare, same = (runs[label] for label in TEMPLATES_RUNS)
    head = (f"On bioS's templates alone the proxy without fillers stores {_bits(same)} bits, on its larger pool "
            f"{_bits(bare)}, bioS {_bits(bios)} (95% bootstrap intervals over people; one rate, one seed).")
    gap = bios.bits - bare.bits
    if gap <= 0:
        return head + " Without fillers the proxy stores as much as bioS or more: there is no gap left to split."
    closed = (same.bits - bare.bits) / gap
    head += f" bioS's template pool closes {closed:.0%} of the gap between the proxy without fillers and bioS."
    if same.bits_low > bios.bits_high:  # more than all of it
        head += (" More than all of it: in this run (one rate, one seed) the proxy on bioS's templates stores more "
                 "than bioS itself, intervals apart, so here its 40 fixed rewrites cost it no bits.")
    if closed > TEMPLATES_SHARE and same.bits_low > bare.bits_high:
        return head + (" By the rule written before the run, the proxy's **larger template pool** accounts for most "
                       "of the gap left without fillers.")
    if closed < TEMPLATES_SHARE and same.bits_high < bios.bits_low:
        return head + (" By the rule written before the run, the proxy's **40 fixed rewrites** (instead of a fresh "
                       "text at every exposure) account for most of the gap left without fillers.")
    return head + (f" By the rule written before the run, **neither** accounts for most of the gap (more than "
                   f"{TEMPLATES_SHARE:.0%} with the intervals apart): this run does not tell them apart.")


def _so_far(chapter: str, profile: str, root) -> tuple[list[Record], str | None]:
    """A diagnostic's stored records and, while it is incomplete, what is left (with the command)."""

    so_far = stored_so_far(chapter, profile, root)
    left = None if so_far.complete else (f"*Stored so far: {so_far.summary()}; `kcl chapter {chapter} --ranks 2` "
                                         f"trains the rest (`--dry-run` for its estimated cost).*")
    return so_far.parts.get("main", []), left


def _section(profile: str, root, name: str, chapters: tuple[str, ...], labels: tuple[str, ...], reading) -> list:
    """A diagnostic's part of result 2's page: ``reading`` of the runs ``labels`` gathered from the
    records of ``chapters`` (the diagnostic's own last, with what is left of it and the command
    while it is incomplete) and the table of those runs; Markdown strings and a frame."""
    if profile == "smoke":
        return [f"*The smoke profile stores nothing to read: the {name} diagnostic is shown from the cpu "
                "profile's records.*"]
    records, left = [], None
    for chapter in chapters:
        stored, left = _so_far(chapter, profile, root)
        records += stored
    frame = runs_frame(records)
    if not frame.empty:
        frame = frame[frame["run"].isin(labels)].reset_index(drop=True)
    items = [reading(frame), *([left] if left else [])]

    return items + ([table(frame)] if not frame.empty else [])


def section(profile: str = "cpu", root=None) -> list:
    """What result 2's page shows of the fillers diagnostic: its reading (or what is still missing,
    with the command) and the table of its runs; Markdown strings and a frame."""
    return _section(profile, root, "fillers", (CHAPTER,), FILLERS_RUNS, fillers_reading)


def templates_section(profile: str = "cpu", root=None) -> list:
    """What result 2's page shows of the templates diagnostic: its reading and its run beside the
    fillers diagnostic's bioS and proxy without fillers; Markdown strings and a frame."""
    return _section(profile, root, "templates", (CHAPTER, TEMPLATES_CHAPTER), TEMPLATES_RUNS, templates_reading)
