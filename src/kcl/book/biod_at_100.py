"""Result 4 on bioD, protocol v2: the same 100 exposures in 25,000 steps instead of v1's 3,125.

Protocol v2 (dated, written after v1's pilot; book/protocol.md) reruns result 4's points with
batches of 2 and 4. Its verdicts are v1's (R ≥ 1; the ratio to result 1's 1000-exposure headline
at most 2) and the ratio to result 1's addendum (each seed at its own best rate), beside v1's.
"""

from __future__ import annotations

from kcl.book import law, plots
from kcl.book.chapters import parts_or_pending, pilot_records
from kcl.book.stats import Section, Shown
from kcl.record import Record

TITLE = "Protocol v2 (25,000 steps)"
POINT_COLUMNS = ["data", "model", "P", "R", "R_low", "R_high", "R_max", "R_non_embedding", "best_lr", "best_lr_at_edge",
                 "lr_tried"]


def protocol_v2(v1_main: list[Record], often: dict[str, list[Record]], often_own: dict, profile: str = "cpu", *,
                allow_train: bool = False) -> Shown:
    """v2's points beside v1's (``v1_main``) and result 1's 1000-exposure ones (``often``, its
    parts; ``often_own``, its addendum headline), its rates and its verdicts; while its sweep runs,
    the pilot's runs so far and its verdict held back."""
    parts, pending = parts_or_pending("result4-v2", profile, allow_train=allow_train)
    if parts is None:
        pilot = pilot_records("result4-v2", profile)
        return Shown(TITLE, [pending, *([plots.lr_sweep(law.lr_frame(pilot), title="Protocol v2: the pilot's "
                                                        "runs so far")] if pilot else [])], [Section(TITLE, None, pending)])
    claims = law.claims_result4(parts["main"], parts["seeds"], often["main"], often["seeds"])
    top = law.headline(parts["main"], parts["seeds"])
    claims.append(law.ratio_to_addendum(often_own, top))
    v2_keys = {r.key for r in parts["main"]}
    three = law.points_frame(v1_main + parts["main"] + often["main"])
    three["data"] = three["data"] + " · E=" + three["exposures"].astype(str) + three["key"].map(
        lambda k: " · v2" if k in v2_keys else "")
    seeds = ", ".join(f"{v:.3f}" for v in top["values"])
    return Shown(TITLE, [
        f"**Peak of protocol v2**: {top['model']} on {top['data']}, R = {top['R']:.3f} [{top['low']:.3f}, "
        f"{top['high']:.3f}] ({top['basis']}; the seeds: {seeds}). Every point at its best rate:",
        plots.table(law.points_frame(parts["main"])[POINT_COLUMNS].sort_values(["data", "P"])),
        plots.capacity_law(three, title="100 exposures in 3,125 steps (v1) and 25,000 steps (v2), and 1000 exposures"),
        plots.lr_sweep(law.lr_frame(parts["pilot"] + parts["main"]), title="Protocol v2: every learning rate tried"),
    ], [Section(TITLE, claims)])
