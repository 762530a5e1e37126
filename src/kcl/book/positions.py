"""Where a bioS model keeps its bits: by what they are about (the names, each attribute, the gender
bit; ``attribute_frame``) and by the position of the sentence that states a value.

A bioS biography names the person in its first sentence only; the later sentences say "he" or
"she" (paper §2.2; Part 3.1 App. A.1 calls the variant with the name in every sentence
"fullname"). So a value in a later sentence can be recalled only through the name some sentences
back, but it also has the earlier values before it, which identify the person too: the split is a
diagnostic, not a controlled test of the pronoun. Every record carries its value loss by sentence
position (``kcl.capacity.loss_by_position``); this module turns it into bits per person (the paper
reports nothing of the kind).
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from kcl.book.catalog import pools_label
from kcl.book.stats import r_interval
from kcl.book import law, plots
from kcl.book.plots import run_label
from kcl.record import Record, Result
from kcl.records import data_name, model_label

SENTENCES = ["first sentence (full name)", "later sentence (pronoun)"]
BIOGRAPHIES = ("bioS", "bioS-simple", "bioR-proxy")  # the data sets whose later sentences say he/she
#: ``across_records``'s total columns (for ``totals_summary``) and the record fields they hold
TOTALS = {"bits": "bits", "bits_names": "bits_name", "bits_values": "bits_value", "max_bits": "max_bits"}
#: the steps diagnostic's reading rule (book/protocol.md, "Diagnostics"): a smaller
#: batch "stores more" when its bits exceed the largest batch's best by more than this share and
#: its R interval lies wholly above that run's
MORE_STEPS_GAIN = 0.10


def _data_label(data: dict) -> str:
    """``bioS, pools 100³`` or ``bioS, pools 400×400×1000``: the runs compared differ in these."""
    pools = pools_label(data)
    return f"{data_name(data)}, pools {pools}" if pools else data_name(data)


def _pooled(loss: list, people: list) -> tuple[float, int]:
    """Mean loss over the positions that hold anyone, weighted by how many, and that count."""
    pairs = [(l, p) for l, p in zip(loss, people) if p]
    count = sum(p for _, p in pairs)
    return (sum(l * p for l, p in pairs) / count if count else math.nan), count


def _most_per_person(result: Result, attr: str, n_people: int) -> float:
    """log2(possible values) of ``attr``, recovered from a record as bits / N + mean loss / ln 2
    (Definition 4.3), so that no data set is rebuilt."""
    return result["bits_per_attribute"][attr] / n_people + result["loss_per_attribute"][attr] / math.log(2)


def position_frame(records: list[Record]) -> pd.DataFrame:
    """Bits per person of each value attribute of a biography data set (birth date, birth city,
    university, major, employer: gender is counted too but has no sentence of its own, and the
    company city is not counted) by where its sentence stands: first, naming the person, or later,
    saying "he"/"she", pooled over the later positions. A person's bits on an attribute are
    log2(possible values) − the value's loss in bits; log2(possible values) is recovered from the
    record as bits / N + mean loss / ln 2 (Definition 4.3), so no data set is rebuilt. Records of
    other data sets, or without ``loss_by_position`` (written before it existed), give no rows,
    nor does a sentence place that no one's value stands at."""

    rows = []
    for record in records:
        data, r = record.data, record.result
        if data["name"] not in BIOGRAPHIES:
            continue
        for attr, by in (r.get("loss_by_position") or {}).items():
            if attr not in r["bits_per_attribute"]:
                continue  # company city: not counted (it follows from the employer)
            most = _most_per_person(r, attr, data["n_people"])
            loss, people = by["loss_bits"], by["people"]
            for sentence, (value, count) in zip(SENTENCES, (_pooled(loss[:1], people[:1]),
                                                            _pooled(loss[1:], people[1:]))):
                if count:
                    rows.append({"run": f"{_data_label(data)} · {run_label(record)}", "data": data["name"],
                                 "exposures": record.train["exposures"], "attribute": attr, "sentence": sentence,
                                 "people": count, "bits_per_person": most - value, "max_bits_per_person": most})
    return pd.DataFrame(rows, columns=["run", "data", "exposures", "attribute", "sentence", "people",
                                       "bits_per_person", "max_bits_per_person"])


def attribute_frame(records: list[Record]) -> pd.DataFrame:
    """Where each run's bits are by what they are about: the names (the name term of Definition 4.1)
    and each counted attribute, gender included (Definition 4.3), as bits stored beside the most a
    perfect model stores; an attribute's maximum is recovered from the record as bits + N · mean
    loss / ln 2, as in ``position_frame``. One row per record (numbered in order) and part."""

    rows = []
    for number, record in enumerate(records):
        data, r = record.data, record.result
        run = f"{_data_label(data)} · {run_label(record)}"
        parts = {"names": (r["bits_name"], r["max_bits_name"])}
        for attr, bits in r["bits_per_attribute"].items():
            parts[attr] = (bits, data["n_people"] * _most_per_person(r, attr, data["n_people"]))
        for part, (bits, most) in parts.items():
            rows.append({"record": number, "run": run, "part": part, "bits": bits, "max_bits": most,
                         "share": bits / most})
    return pd.DataFrame(rows, columns=["record", "run", "part", "bits", "max_bits", "share"])


def attribute_table(records: list[Record]) -> pd.DataFrame:
    """``attribute_frame`` as a table to read: one row per run, one column per part, each cell the
    share of that part's maximum the run stores (negative: worse than a uniform guess)."""
    frame = attribute_frame(records)
    table = frame.pivot(index="record", columns="part", values="share")[list(dict.fromkeys(frame["part"]))]
    table.index = frame.groupby("record")["run"].first()
    return table.rename_axis(columns=None)


def across_records(stored: list[tuple[str, Record]]) -> pd.DataFrame:
    """The biography records side by side (``stored``: ``(store, record)`` pairs, as
    ``kcl.book.catalog.run_records`` gives them; other data sets are left out), one row per run (a run
    kept in several stores once, naming them all): its stores, data set, people, name pools, model,
    exposures, batch, steps, rate, seed, R, the share of each part's maximum it stores
    (``attribute_table``), the gender bit's two-way loss at the first pronoun (nats; ln 2 is chance)
    and accuracy, the ``TOTALS``, R's bootstrap interval and the parameter counts (total, the
    engine's count; non-embedding) and R per non-embedding parameter."""

    stores: dict[str, list[str]] = {}  # a run stored in more than one store is one row, naming them all
    kept = []
    for store, record in stored:
        if record.data["name"] in BIOGRAPHIES:
            if record.key not in stores:
                kept.append((store, record))
            stores.setdefault(record.key, []).append(store)
    if not kept:
        return pd.DataFrame()
    table = attribute_table([record for _, record in kept]).reset_index(drop=True)
    records, results = [record for _, record in kept], [record.result for _, record in kept]
    first = {"store": [", ".join(stores[record.key]) for record in records],
             "data": [data_name(rec.data) for rec in records], "N": [rec.data["n_people"] for rec in records],
             "pools": [pools_label(rec.data) for rec in records],
             "model": [model_label(rec.model) for rec in records], "exposures": [rec.train["exposures"] for rec in records],
             "batch": [rec.train["batch_size"] for rec in records], "steps": [r.train.steps for r in results],
             "lr": [rec.train["lr"] for rec in records], "seed": [rec.train["seed"] for rec in records],
             "R": [r.R for r in results]}
    for at, (column, values) in enumerate(first.items()):
        table.insert(at, column, values)
    table["gender_loss_nats"] = [r["loss_per_attribute"]["gender"] for r in results]
    table["gender_accuracy"] = [r["accuracy"]["gender"] for r in results]
    for column, field in TOTALS.items():
        table[column] = [r[field] for r in results]
    table["R_low"], table["R_high"] = zip(*(r_interval(r) for r in results))
    table["P"] = [r.params.total for r in results]
    table["P_non_embedding"] = [r.params.non_embedding for r in results]
    table["R_non_embedding"] = [r.R_non_embedding for r in results]
    return table


def _kilo(bits: float) -> str:
    """Bits in thousands, one decimal: ``63.5K``."""
    return f"{bits / 1000:.1f}K"


def _span(values: pd.Series, form: str) -> str:
    """``low to high`` in ``form`` (one figure where they agree as written; no "-0")."""
    low, high = (format(v + 0.0, form).replace("-0%", "0%") for v in (values.min(), values.max()))
    return low if low == high else f"{low} to {high}"


def across_summary(table: pd.DataFrame) -> str:
    """``across_records`` in words, one line per data set, N, name pools, model, exposures and batch:
    how many runs and steps, the range of each part's share over them, and of the gender bit's loss,
    accuracy and share."""
    lines = []
    keys = ["data", "N", "pools", "model", "exposures", "batch"]
    for (data, people, pools, model, exposures, batch), rows in table.sort_values(keys).groupby(keys, sort=False):
        columns = list(rows.columns)
        parts = columns[columns.index("R") + 1:columns.index("gender")]  # the names and the five attributes
        spans = ", ".join(f"{part.replace('_', ' ')} {_span(rows[part], '.0%')}" for part in parts)
        what = "1 run" if len(rows) == 1 else f"{len(rows)} runs"
        lines.append(f"- **{data}, N = {people:,}, pools {pools}, {model}, {exposures} exposures, batch {batch}** ({what}, "
                     f"{_span(rows['steps'] / 1000, '.1f')}K steps, R {_span(rows['R'], '.3f')}): "
                     f"stored of each part's maximum: {spans}. The gender bit: two-way loss "
                     f"{_span(rows['gender_loss_nats'], '.2f')} nats (chance: ln 2 = {math.log(2):.2f}), accuracy "
                     f"{_span(rows['gender_accuracy'], '.2f')}, {_span(rows['gender'], '.0%')} of the bit.")
    return "\n".join(lines)


def position_sums(frame: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """One run's rows of ``position_frame`` summed over the attributes, per sentence place:
    ``{sentence: (bits per person, maximum)}``; a place with no rows is left out."""
    sums = frame.groupby("sentence")[["bits_per_person", "max_bits_per_person"]].sum()
    return {s: (float(sums.loc[s].bits_per_person), float(sums.loc[s].max_bits_per_person))
            for s in SENTENCES if s in sums.index}


def position_shares(frame: pd.DataFrame) -> dict[str, float]:
    """Of the bits per person a perfect model holds on the value attributes, the share this one
    holds per sentence place (``position_sums``)."""
    return {s: bits / most for s, (bits, most) in position_sums(frame).items()}


def position_summary(records: list[Record]) -> str:
    """One line per run: the bits per person summed over the value attributes, where their
    sentence names the person and where it says he or she, each as a share of the maximum ("" without
    position data)."""
    words = {SENTENCES[0]: "where the attribute's sentence names the person",
             SENTENCES[1]: "where it says he or she"}
    lines = []
    for run, rows in position_frame(records).groupby("run", sort=False):
        parts = [f"{words[s]}, {bits:.1f} of {most:.1f} bits per person ({bits / most:.0%})"
                 for s, (bits, most) in position_sums(rows).items()]
        lines.append(f"- {run}: " + "; ".join(parts) + ".")
    return "\n".join(lines)


def figures(record: Record, prefix: str) -> dict[str, str]:
    """The numbers a diagnostic's reading quotes, formatted, keyed ``{prefix}_{name}`` (for
    ``myst_nb.glue``): R, R_max, P, the embedding's share of P, the bits of the names and of the
    birth dates, and the bits per person summed over the value attributes where their sentence
    names the person (``first``), where it says he or she (``later``), and at most (``most``)."""
    r = record.result
    sums = position_sums(position_frame([record]))
    first, later = (sums.get(s, (math.nan, math.nan)) for s in SENTENCES)
    out = {"R": f"{r.R:.3f}", "R_max": f"{r.R_max:.2f}", "P": f"{r.params.total / 1000:.0f}K",
           "embedding_share": f"{1 - r.params.non_embedding / r.params.total:.0%}",
           "bits": _kilo(r.bits), "name_bits": _kilo(r["bits_name"]),
           "birth_date_bits": _kilo(r["bits_per_attribute"].get("birth_date", math.nan)),
           "first": f"{first[0]:.1f}", "later": f"{later[0]:.1f}", "most": f"{first[1]:.1f}"}
    return {f"{prefix}_{k}": v for k, v in out.items()}


COMPARED = ["data", "name_pools", "used_tokens", "P", "P_non_embedding", "bits_name", "bits_value", "R", "R_low",
            "R_high", "R_max", "R_non_embedding"]


def comparison(records: list[Record]) -> tuple[pd.DataFrame, object, str]:
    """What a diagnostic page shows of runs side by side: their figures (``law.points_frame``), the
    bits by sentence chart (``bits_by_position``) and ``position_summary``."""

    return plots.table(law.points_frame(records)[COMPARED]), bits_by_position(records), position_summary(records)


def totals_summary(table: pd.DataFrame) -> str:
    """``across_records``'s bits in words, for each data set, name pools, model and exposures stored at
    more than one N with the batch scaled with N (the same N / batch, so about the same steps): the
    best run (highest R, over rates and seeds) at each N, its bits (names, values) against the
    maximum, then from each N to the next how much the maximum and the stored bits grew. A
    capacity-bound model stores about the same bits whatever N (Result 1)."""
    lines = []
    keys = ["data", "pools", "model", "exposures", "per_batch"]
    table = table.assign(per_batch=table["N"] / table["batch"])
    for (data, pools, model, exposures, _), rows in table.sort_values(keys).groupby(keys, sort=False):
        best = rows.loc[rows.groupby("N", sort=True)["R"].idxmax()]
        if len(best) < 2:
            continue
        points = "; ".join(f"N = {b.N:,}: {_kilo(b.bits)} of {_kilo(b.max_bits)} bits ({b.bits / b.max_bits:.0%}; "
                           f"names {_kilo(b.bits_names)}, values {_kilo(b.bits_values)})" for b in best.itertuples())
        steps = "; ".join(f"N = {a.N:,} to {b.N:,}, the maximum ×{b.max_bits / a.max_bits:.2f} and the stored bits "
                          f"×{b.bits / a.bits:.2f}" for a, b in zip(best.itertuples(), best.iloc[1:].itertuples()))
        lines.append(f"- **{data}, pools {pools}, {model}, {exposures} exposures, the batch scaled with N** "
                     f"({_span(rows['steps'] / 1000, '.1f')}K steps), the best run at each N: {points}. "
                     f"From each N to the next: {steps}.")
    return "\n".join(lines)


STEPS_KEYS = ["data", "N", "pools", "model", "exposures"]
STEPS_DIAGNOSTIC_STORE = "diagnostics/bios-steps"  # the runs the rule was written for (book/protocol.md)


def steps_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``across_records`` whose data set, N, name pools, model and exposures were
    stored in more than one batch (the same data in more or fewer steps), with a ``point`` label
    (which says what R per non-embedding parameter is)."""
    several = table.groupby(STEPS_KEYS)["batch"].transform("nunique") > 1
    rows = table[several]
    return rows.assign(point=[
        f"{r.data}, N = {r.N:,}, pools {r.pools}, {r.model}, {r.exposures} exposures (per non-embedding parameter: "
        f"{r.P / r.P_non_embedding:.1f} × R)" for r in rows.itertuples()])


def steps_summary(table: pd.DataFrame, read: bool = True, ruled_store: str = STEPS_DIAGNOSTIC_STORE) -> str:
    """``across_records``'s runs of one data set, N, name pools, model and exposures in more than one
    batch (the same data in more or fewer steps), in words: each batch's best run (over rates and
    seeds) with its bits and R interval, largest batch first, then the steps diagnostic's reading
    by its rule (book/protocol.md, "Diagnostics"; ``MORE_STEPS_GAIN``), or, with
    ``read=False`` (the diagnostic's runs are not all stored), that the reading waits. The rule reads
    only a point with runs from ``ruled_store``, the diagnostic's; another point stored in more than
    one batch (a later protocol's smaller batches beside an earlier one's) is compared, not read."""
    lines = []
    for point, rows in steps_frame(table).sort_values(STEPS_KEYS).groupby("point", sort=False):
        ruled = rows["store"].str.split(", ").apply(lambda stores: ruled_store in stores).any()
        best = rows.loc[rows.groupby("batch")["R"].idxmax()].sort_values("batch", ascending=False)
        tried = rows.groupby("batch")["lr"].nunique()
        points = "; ".join(f"batch {b.batch} ({b.steps / 1000:.1f}K steps, " + (f"best of {tried[b.batch]} rates at "
                           if tried[b.batch] > 1 else "one rate, ") + f"{b.lr:g}): "
                           f"{_kilo(b.bits)} bits, R = {b.R:.3f} [{b.R_low:.3f}, {b.R_high:.3f}]" for b in best.itertuples())
        if not ruled:
            reading = (_against(best) + ". No rule reads this point: the steps diagnostic's rule was written for "
                       "its own runs, and these are shown beside them.")
        else:
            reading = (_more_steps_reading(best) if read else
                       "The rule written before these runs is read once all of them are stored.")
        lines.append(f"- **{point}**: {points}. " + reading)
    return "\n".join(lines)


def _against(best: pd.DataFrame) -> str:
    """Each smaller batch's bits against the largest batch's best run (largest batch first)."""
    base, smaller = best.iloc[0], best.iloc[1:]
    gains = smaller["bits"] / base["bits"] - 1
    return f"Against batch {base.batch}'s best: " + "; ".join(f"batch {b.batch} {g:+.0%}"
                                                             for b, g in zip(smaller.itertuples(), gains))


def _more_steps_reading(best: pd.DataFrame) -> str:
    """The rule written before the steps diagnostic ran, on each batch's best run (largest batch first)."""
    base, smaller = best.iloc[0], best.iloc[1:]
    gains = smaller["bits"] / base["bits"] - 1
    more = (gains > MORE_STEPS_GAIN) & (smaller["R_low"] > base["R_high"])
    if more.any():
        reading = ("more steps at the same exposures stored more: the model was not full at the largest batch's "
                   f"R = {base.R:.3f}")
    elif (gains <= MORE_STEPS_GAIN).all():
        reading = (f"every smaller batch stays within {MORE_STEPS_GAIN:.0%} of it or below: the records agree with "
                   "a model that is full at this size")
    else:
        reading = (f"a smaller batch stores more than {MORE_STEPS_GAIN:.0%} more, but its interval overlaps the "
                   "largest batch's: the rule decides neither way")
    return (f"{_against(best)}. By the rule written before these runs "
            f"(more than {MORE_STEPS_GAIN:.0%} and the interval of R wholly above), {reading}.")


def bits_by_position(records: list[Record],
                     title: str = "Bits per person by sentence: the one that names the person, or a later one") -> alt.Chart:
    """Grouped bars (``kcl.book.positions.position_frame``): each attribute's bits per person when its sentence opens
    the biography beside when it comes later; a grey tick marks the maximum, log2(values)."""

    frame = position_frame(records)
    base = alt.Chart().encode(x=alt.X("attribute:N", title=None, sort=None))
    bars = base.mark_bar().encode(
        xOffset=alt.XOffset("sentence:N", sort=SENTENCES),
        y=alt.Y("bits_per_person:Q", title="bits per person (lower bound)"),
        color=alt.Color("sentence:N", title=None, sort=SENTENCES, legend=alt.Legend(orient="bottom", labelLimit=0)),
        tooltip=["run", "attribute", "sentence", "people", alt.Tooltip("bits_per_person:Q", format=".2f"),
                 alt.Tooltip("max_bits_per_person:Q", format=".2f")])
    ticks = base.mark_tick(color="#888", thickness=2, size=30).encode(y="max_bits_per_person:Q")
    return alt.layer(bars, ticks, data=frame).properties(width=260, height=220).facet(
        column=alt.Column("run:N", title=None), title=title)
