"""Result 4's chapter: the law at 100 exposures, on bioD and on bioS, and the recipe pilot.

On bioD, protocol v1 trains result 4's points in 3,125 steps and protocol v2 (dated, written after
v1's pilot; book/protocol.md) reruns them in 25,000 steps, with batches of 2 and 4; both are
judged against result 1's 1000-exposure law (R ≥ 1; the ratio to result 1's headline at most 2)
and against result 1's addendum (each seed at its own best rate). On bioS the page shows four
protocols (v4, which decides: subword tokens at the 100-exposure regime; v1: d = 16; v2: d = 32;
v3: d = 32 at batch 1), each the best of its rates, R ≥ 1 judged at once and the ratio to result
2's 1000-exposure bioS point judged once that point's seeds are stored. The recipe pilot (chapter
``recipe-100``; its rule: ``kcl.book.regime``) ranks the recipes and chooses the regime that
results 6, 7, 9 at 100 exposures, 10-12 and bioS protocol v4 train at.

``page`` reads the chapter once; its ``sections`` are the verdicts the notebook and the first
page's table of claims show. Its bioS protocols and protocol v2 each return what the page shows
and the verdict sections they add (``stats.Shown``); the recipe pilot's section adds no verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt

from kcl.book import chapters, law, plots, positions, progress, regime, stats
from kcl.book.addenda import EDGE_RATES
from kcl.book.chapters import parts_or_pending, pilot_records
from kcl.book.progress import shown_so_far
from kcl.book.stats import Section, Shown
from kcl.record import Record


#: (label, chapter, the chapter whose bioS point at 1000 exposures it is divided into, or None)
BIOS_PROTOCOLS = (("v4, subword tokens at the 100-exposure regime", "result4-bios-v4", "result2-v4"),  # decides
             ("v1, d = 16", "result4-bios", None),
             ("v2, d = 32", "result4-bios-v2", "result2"),
             ("v3, d = 32, batch 1", "result4-bios-v3", "result2"))
POINT_COLUMNS = ["data", "model", "P", "R", "R_low", "R_high", "R_max", "R_non_embedding", "best_lr",
                 "best_lr_at_edge", "lr_tried"]


def bios_protocol(label: str, chapter: str, point_1000: tuple | None, profile: str = "cpu", *,
                  allow_train: bool = False) -> Shown:
    """One protocol's figures and verdicts: its points (the best of its rates), a note where R is
    below zero, and one rate beyond the edge beside them where it ran (the edge-rates addendum).
    ``point_1000``: the bioS point at 1000 exposures it is divided into, as
    ``progress.data_type_point`` gives it (head, main records, what it waits for); None for none."""
    shown = Shown(label, [f"**bioS, protocol {label}**"])
    parts, pending = parts_or_pending(chapter, profile, allow_train=allow_train)
    if parts is None:
        shown.items.append(pending)
        shown.sections.append(stats.Section(f"bioS, protocol {label}", None, pending))
        so_far, running, _ = shown_so_far(chapter, profile)
        if running is not None:  # its runs stored so far, with no verdict
            shown.items += [running.note(), plots.table(law.points_frame(so_far["main"])[POINT_COLUMNS])]
            below = law.below_zero_note(so_far["main"], "100 exposures")
            shown.items += [below] if below else []
        return shown
    rare, beyond = parts["main"], parts.get("edge_rates", [])
    n_rates = len({r.train["lr"] for r in rare})
    head_1000, _, waits = point_1000 or (None, [], "")
    judged_1000 = None if waits else head_1000  # the ratio is judged once that point's seeds are stored
    title = f"bioS, protocol {label}, best of {n_rates} rates"
    committed = law.claims_bios_100(rare, judged_1000, parts.get("seeds", []))
    shown.sections.append(stats.Section(title, committed))
    if waits:  # R ≥ 1 alone until result 2's bioS seeds are stored
        shown.sections.append(stats.Section(f"{title}: ratio to 1000 exposures", None,
                                            law.ratio_pending_note(rare, head_1000, waits)))
    shown.items.append(plots.table(law.points_frame(rare)[POINT_COLUMNS]))
    below = law.below_zero_note(rare, "100 exposures")
    shown.items += [below] if below else []
    if beyond:  # judged beside the committed figure, never in its place
        shown.items += [f"One rate beyond the edge ({EDGE_RATES}): the best of {n_rates} beside the best "
                        f"of {n_rates + 1}.", plots.table(law.widened_points(rare, beyond))]
        shown.sections.append(stats.addendum_section(
            f"bioS, protocol {label}, best of {n_rates + 1} rates (addendum: one beyond the edge)",
            law.claims_bios_100(rare + beyond, judged_1000, parts.get("seeds", [])), committed))
    return shown


def bios_protocols(profile: str = "cpu", *, allow_train: bool = False) -> list[Shown]:
    """Every bioS protocol of result 4, in ``BIOS_PROTOCOLS`` order (the deciding one first); each
    1000-exposure point is read once (v2 and v3 share result 2's)."""
    points = {pair: progress.data_type_point(pair, "bioS", profile, allow_train=allow_train)
              for pair in {pair for _, _, pair in BIOS_PROTOCOLS if pair}}
    return [bios_protocol(label, chapter, points.get(pair), profile, allow_train=allow_train)
            for label, chapter, pair in BIOS_PROTOCOLS]


# -- diagnostics (no claim of the paper; book/protocol.md, "Diagnostics") ---------------------------
def position_diagnostic(profile: str = "cpu", *, allow_train: bool = False) -> tuple[list[Record], Shown, dict]:
    """``bios-position``: protocol v2's best point retrained, its bits by sentence position beside
    result 2's bioS point at 1000 exposures (seed 0 at its best rate, where stored). Returns its records (empty while
    pending), what the page shows and the figures its reading quotes (``positions.figures``)."""
    shown = Shown("Where the bits are")
    diag, pending = parts_or_pending("bios-position", profile, allow_train=allow_train)
    if diag is None:
        shown.items.append(pending)
        return [], shown, {}
    v2, _ = parts_or_pending("result4-bios-v2", profile, allow_train=allow_train)
    bios_1000, _, _ = progress.data_type_point("result2", "bioS", profile, allow_train=allow_train)
    beside = diag["main"] + ([bios_1000["record"]] if bios_1000 else [])
    shown.items += [law.retrain_note(diag["main"][0], v2["main"] if v2 else []), positions.bits_by_position(beside),
                    positions.position_summary(beside)]
    return diag["main"], shown, positions.figures(diag["main"][0], "diag")


def beside_position_diagnostic(chapter: str, prefix: str, base: list[Record], profile: str = "cpu", *,
                               allow_train: bool = False) -> tuple[Shown, dict]:
    """A diagnostic that changes one thing of ``bios-position``'s run (``bios-pools``, ``bios-simple``),
    side by side with it (``positions.comparison``), and the figures its reading quotes, keyed
    ``{prefix}_...``; while either is missing, what is pending."""
    parts, pending = parts_or_pending(chapter, profile, allow_train=allow_train)
    if parts is None or not base:
        return Shown(chapter, [pending or "*Pending: the diagnostic above (`bios-position`) is not stored yet.*"]), {}
    table, chart, summary = positions.comparison(base + parts["main"])
    return Shown(chapter, [table, chart, summary]), positions.figures(parts["main"][0], prefix)


V2_TITLE = "Protocol v2 (25,000 steps)"


def protocol_v2(v1_main: list[Record], often: dict[str, list[Record]], often_own: dict, profile: str = "cpu", *,
                allow_train: bool = False) -> Shown:
    """v2's points beside v1's (``v1_main``) and result 1's 1000-exposure ones (``often``, its
    parts; ``often_own``, its addendum headline), its rates and its verdicts; while its sweep runs,
    the pilot's runs so far and its verdict held back."""
    parts, pending = parts_or_pending("result4-v2", profile, allow_train=allow_train)
    if parts is None:
        pilot = pilot_records("result4-v2", profile)
        return Shown(V2_TITLE, [pending, *([plots.lr_sweep(law.lr_frame(pilot), title="Protocol v2: the pilot's "
                                                        "runs so far")] if pilot else [])], [Section(V2_TITLE, None, pending)])
    claims = law.claims_result4(parts["main"], parts["seeds"], often["main"], often["seeds"])
    top = law.headline(parts["main"], parts["seeds"])
    claims.append(law.ratio_to_addendum(often_own, top))
    v2_keys = {r.key for r in parts["main"]}
    three = law.points_frame(v1_main + parts["main"] + often["main"])
    three["data"] = three["data"] + " · E=" + three["exposures"].astype(str) + three["key"].map(
        lambda k: " · v2" if k in v2_keys else "")
    seeds = ", ".join(f"{v:.3f}" for v in top["values"])
    return Shown(V2_TITLE, [
        f"**Peak of protocol v2**: {top['model']} on {top['data']}, R = {top['R']:.3f} [{top['low']:.3f}, "
        f"{top['high']:.3f}] ({top['basis']}; the seeds: {seeds}). Every point at its best rate:",
        plots.table(law.points_frame(parts["main"])[POINT_COLUMNS].sort_values(["data", "P"])),
        plots.capacity_law(three, title="100 exposures in 3,125 steps (v1) and 25,000 steps (v2), and 1000 exposures"),
        plots.lr_sweep(law.lr_frame(parts["pilot"] + parts["main"]), title="Protocol v2: every learning rate tried"),
    ], [Section(V2_TITLE, claims)])


RECIPE_PILOT = "recipe-100"
RECIPE_COLUMNS = ["batch_size", "init", "best_lr", "score", "rates_tried", "best_at_edge"]


def rates_chart(records: list[Record]) -> alt.Chart:
    """Mean R over seeds against the rate: one line per batch size, one panel per initialisation."""
    frame = regime.rate_table(records)
    frame["initialisation"] = frame["init"].map(regime.INIT_NAMES).fillna(frame["init"])
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("lr:Q", title="peak learning rate", scale=alt.Scale(type="log")),
        y=alt.Y("R:Q", title="mean R over seeds (bits per parameter)"),
        color=alt.Color("batch_size:O", title="batch"),
        tooltip=["initialisation", "batch_size", "lr", "R", "values", "seeds"],
    ).properties(width=180, height=160).facet(
        column=alt.Column("initialisation:N", title=None), title="The recipe pilot: mean R at each rate")


def _same_point(record: Record, pilot: Record) -> bool:
    """``record`` trains the pilot's model on the pilot's data (any seed, any initialisation)."""
    def drop(part: dict, key: str) -> dict:
        return {k: v for k, v in part.items() if k != key}
    return drop(record.data, "seed") == drop(pilot.data, "seed") and \
        drop(record.model, "options") == drop(pilot.model, "options")


def beside_result4(chosen: regime.Regime, pilot: list[Record], points: list[Record]) -> str:
    """The protocol's addendum to result 4: the regime's score beside result 4's best committed point
    on the pilot's model and data (``points``: result 4's protocols' records), dated by the pilot's last
    record. Result 4's committed verdicts are not changed by it."""
    same = [r for r in points if _same_point(r, pilot[0])]
    if not same:
        return ""
    best = max(same, key=lambda r: r.result.R)
    date = max(r.created for r in pilot)[:10]
    above = chosen.score > best.result.R
    return (f"**Addendum to result 4 ({date + ', ' if date else ''}by the pilot's rule).** The regime's score, "
            f"{chosen.score:.3f} (the mean over its seeds at rate {chosen.lr:g}), is "
            f"{'above' if above else 'not above'} result 4's best committed point on the same model and data, "
            f"R = {best.result.R:.3f} (batch {best.train['batch_size']}, rate {best.train['lr']:g}, seed "
            f"{best.train['seed']})" + (f": {chosen.score / best.result.R:.2f} times as many bits. " if above else ". ")
            + "Result 4's committed verdicts stand as they were judged; the chapters after it train at the regime.")


def result4_records(profile: str) -> list[Record]:
    """Result 4's committed points on bioD, both protocols (v1's and v2's main sweeps), as far as stored."""
    out = []
    for name in ("result4", "result4-v2"):
        parts, _ = parts_or_pending(name, profile)
        out += parts["main"] if parts else []
    return out


def recipe_section(profile: str = "cpu", *, allow_train: bool = False) -> list:
    """Items for ``plots.show``: what is pending, or the pilot's chart and recipe table, and the
    regime its rule chose once its sweep (with its runs beyond an edge) is complete, with the
    addendum to result 4; the pilot trains only where ``allow_train``
    (the smoke profile's tiny pilot)."""
    parts, running, pending = shown_so_far(RECIPE_PILOT, profile, allow_train=allow_train)
    if parts is None:
        return [pending]
    records = parts["main"] + parts.get("recipe_edges", [])
    recipes = regime.recipe_table(records)[RECIPE_COLUMNS]
    recipes["init"] = recipes["init"].map(regime.INIT_NAMES).fillna(recipes["init"])
    items = [rates_chart(records), plots.table(recipes.rename(columns={"init": "initialisation"}))]
    if running:
        return [running.note(), *items, "*The regime is chosen once every run of the pilot is stored.*"]
    chosen = regime.choose(records)
    addendum = beside_result4(chosen, records, result4_records(profile))
    return [*items, f"**The regime** (by the rule committed before the pilot): {chosen.describe()}.",
            *([addendum] if addendum else [])]


@dataclass
class Page:
    """What result 4's page shows and judges, read once: its bioD runs (protocol v1), result 1's
    (``often``), protocol v2 and bioS's protocols."""
    parts: dict[str, list[Record]]
    often: dict[str, list[Record]]
    often_own: dict  # result 1's peak with each seed at its own best rate (result 1's addendum)
    v2: Shown
    bios: list[Shown]

    @property
    def top(self) -> dict:
        """Protocol v1's peak at seed 0's best rate, over its seeds (``law.headline``)."""
        return law.headline(self.parts["main"], self.parts["seeds"])

    def sections(self) -> list[Section]:
        """Protocol v1's verdicts (the first page's row), v1 against result 1's addendum, protocol
        v2's and bioS's protocols' verdicts."""
        p, o = self.parts, self.often
        return [Section("Protocol v1 (3,125 steps)", law.claims_result4(p["main"], p["seeds"], o["main"], o["seeds"])),
                Section("Protocol v1 against result 1's addendum (each seed its own best rate)",
                        [law.ratio_to_addendum(self.often_own, self.top)]),
                *self.v2.sections, *(section for shown in self.bios for section in shown.sections)]


def page(profile: str = "cpu", *, allow_train: bool = False) -> Page:
    """Result 4's records, result 1's, protocol v2's and bioS's (training what is missing where ``allow_train``)."""
    parts = chapters.chapter_parts("result4", profile, allow_train=allow_train)
    often = chapters.chapter_parts("result1", profile, allow_train=allow_train)  # the 1000-exposure law
    often_own = law.headline_per_seed(often["main"], often["seeds"] + often["seed_rates"])
    return Page(parts, often, often_own, protocol_v2(parts["main"], often, often_own, profile, allow_train=allow_train),
                bios_protocols(profile, allow_train=allow_train))


#: the first page's reading of this chapter's verdicts (``kcl.book.claims``): by notebook, the
#: verdict sections from the committed records and how many of them the first page shows
FIRST_PAGE = {"result4": lambda profile: (page(profile).sections(), 1)}
