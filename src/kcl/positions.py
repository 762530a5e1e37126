"""Where a bioS model keeps its bits: by the position of the sentence that states a value.

A bioS biography names the person in its first sentence only; the later sentences say "he" or
"she" (paper §2.2; Part 3.1 App. A.1 calls the variant with the name in every sentence
"fullname"). So a value in a later sentence can be recalled only through the name some sentences
back. Every record carries its value loss by sentence position (``kcl.capacity.loss_by_position``);
this module turns it into bits per person (a diagnostic the paper does not report).
"""

from __future__ import annotations

import math

import pandas as pd

SENTENCES = ["first sentence (full name)", "later sentence (pronoun)"]


def _data_label(data: dict) -> str:
    """``bioS, pools 100³`` or ``bioS, pools 400×400×1000``: the runs compared differ in these."""
    pools = data.get("pools") or ()
    if not pools:
        return data["name"]
    same = len(set(pools)) == 1
    return f"{data['name']}, pools " + (f"{pools[0]}³" if same else "×".join(str(n) for n in pools))


def position_frame(records: list[dict]) -> pd.DataFrame:
    """Bits per person of each counted attribute by where its sentence stands: first (it names the
    person) or later (a pronoun), pooled over the later positions. A person's bits on an attribute
    are log2(possible values) − the value's loss in bits; log2(possible values) is recovered from
    the record as bits / N + mean loss / ln 2 (Definition 4.3), so no data set is rebuilt. Records
    without ``loss_by_position`` (written before it existed) give no rows."""
    from kcl.plots import run_label

    rows = []
    for record in records:
        r, n = record["result"], record["config"]["data"]["n_people"]
        for attr, by in (r.get("loss_by_position") or {}).items():
            if attr not in r["bits_per_attribute"]:
                continue  # company city is not counted (it follows from the employer)
            most = r["bits_per_attribute"][attr] / n + r["loss_per_attribute"][attr] / math.log(2)
            loss, people = by["loss_bits"], by["people"]
            later = sum(l * p for l, p in zip(loss[1:], people[1:])) / max(sum(people[1:]), 1)
            for sentence, value, count in ((SENTENCES[0], loss[0], people[0]), (SENTENCES[1], later, sum(people[1:]))):
                rows.append({"run": f"{_data_label(record['config']['data'])} · {run_label(record)}",
                             "data": record["config"]["data"]["name"],
                             "exposures": record["config"]["train"]["exposures"], "attribute": attr,
                             "sentence": sentence, "people": count, "bits_per_person": most - value,
                             "max_bits_per_person": most})
    return pd.DataFrame(rows, columns=["run", "data", "exposures", "attribute", "sentence", "people",
                                       "bits_per_person", "max_bits_per_person"])


def position_shares(frame: pd.DataFrame) -> tuple[float, float]:
    """Of the bits per person a perfect model holds on the counted attributes, the share this one
    holds where the sentence names the person and where it says he or she (one run's rows of
    ``position_frame``)."""
    sums = frame.groupby("sentence")[["bits_per_person", "max_bits_per_person"]].sum()
    first, later = (sums.loc[s] for s in SENTENCES)
    return (first.bits_per_person / first.max_bits_per_person, later.bits_per_person / later.max_bits_per_person)


def position_summary(records: list[dict]) -> str:
    """One sentence per run: the bits per person summed over the attributes, in the first sentence
    and in later ones, each as a share of the maximum ("" without position data)."""
    frame = position_frame(records)
    lines = []
    for run, rows in frame.groupby("run", sort=False):
        sums = rows.groupby("sentence")[["bits_per_person", "max_bits_per_person"]].sum()
        first, later = (sums.loc[s] for s in SENTENCES)
        share_first, share_later = position_shares(rows)
        lines.append(f"- {run}: where the attribute's sentence names the person, "
                     f"{first.bits_per_person:.1f} of {first.max_bits_per_person:.1f} bits per person "
                     f"({share_first:.0%}); where it says he or she, "
                     f"{later.bits_per_person:.1f} ({share_later:.0%}).")
    return "\n".join(lines)
