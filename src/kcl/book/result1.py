"""Result 1's chapter: the 2 bits per parameter law at 1000 exposures, and bioS beside it.

Result 1 is measured on bioD (its own sweep, ``result1``): every point the best of its rates, the
peak rerun with more seeds (``law``). bioS enters the page twice. Its bioS point at 1000
exposures is result 2's (≥ 2 bits per parameter, judged once that point's seed reruns are
stored): protocol v4's, which decides, and v3's beside it; and ``result1-bios`` (an addendum of
the protocol) trains result 2's model at N = 1000 and 2000 so that R^max ≤ 1.8, where Result 1(b)
says a model is near-perfect (R ≈ R^max). ``page`` reads all of it once; its ``sections`` are the
chapter's verdicts, which the notebook and the first page's table of claims both show.
"""

from __future__ import annotations

from dataclasses import dataclass

from kcl.book import chapters, law, plots, progress, stats
from kcl.book.addenda import EDGE_RATES, SEED_RATES
from kcl.book.stats import Section, Shown
from kcl.record import Record

POINT_COLUMNS = ["data", "model", "P", "P_non_embedding", "R", "R_low", "R_high", "R_max", "R_non_embedding",
                 "accuracy", "best_lr", "best_lr_at_edge", "lr_tried"]
BELOW_COLUMNS = ["data", "model", "P", "R_max", "R", "R_low", "R_high", "R_over_R_max", "accuracy",
                 "best_lr", "best_lr_at_edge", "lr_tried"]
SEED_0 = "*Seed 0 at its best of four rates, 95% bootstrap over people.*"


#: (label, protocol) of result 2's bioS point that result 1 shows: protocol v4 decides (book/protocol.md,
#: "bioS protocol v4"); v3's point (``result2`` reads v2's until v3 had one) stays beside it
BIOS_POINTS = (("v4, subword tokens", "result2-v4"), ("v3, word-level tokens", "result2"))


def point(bioD_main: list[Record], profile: str = "cpu", *, label: str, chapter: str,
          allow_train: bool = False) -> Shown:
    """Result 2's bioS point of one protocol (``label``, its ``chapter``: a pair of ``BIOS_POINTS``)
    beside result 1's bioD points (``bioD_main``): chart, table and its verdict, or while its runs
    are missing what it waits for."""
    title = f"bioS at 1000 exposures, protocol {label} (result 2's point; paper ≥ 2)"
    bios, bios_main, waits = progress.data_type_point(chapter, "bioS", profile, allow_train=allow_train)
    held_back = Section(title, None, f"*The verdict waits for {waits}.*")
    if bios is None:
        return Shown(title, [f"**bioS, protocol {label}.** *Pending: {waits} ({len(bios_main)} of its three "
                             "rates stored so far; the `result2` page shows them).*"], [held_back])
    shown = Shown(title, [f"**bioS, protocol {label}.**"],
                  [held_back if waits else Section(title, [law.judge_bios_1000(bios)])])
    if waits:  # the three rates are stored, not every seed: the point without a verdict
        shown.items.append("*bioS's three rates are stored, not all its seed reruns yet: the point below is seed 0 "
                           "at its best rate, with its bootstrap interval over people, and its verdict waits for "
                           "the seeds.*")
    shown.items += [plots.capacity_law(law.points_frame(bioD_main + bios_main),
                                       title=f"bioD and bioS (protocol {label.split(',')[0]}): bits stored against parameters"),
                    plots.table(law.points_frame(bios_main)[POINT_COLUMNS])]
    return shown


def points(bioD_main: list[Record], profile: str = "cpu", *, allow_train: bool = False) -> list[Shown]:
    """``point`` of every protocol in ``BIOS_POINTS``, the deciding one first."""
    return [point(bioD_main, profile, allow_train=allow_train, label=label, chapter=chapter)
            for label, chapter in BIOS_POINTS]


def below_boundary(profile: str = "cpu", *, allow_train: bool = False) -> Shown:
    """``result1-bios``: its points (shown as soon as one is stored), the near-perfect verdict once
    all are, and one rate beyond the edge beside it (seed 0, best of four rates)."""
    title = f"bioS below the capacity boundary ({EDGE_RATES})"
    parts, running, pending = progress.shown_so_far("result1-bios", profile, allow_train=allow_train)
    waiting = Section(title, None, "*The verdict (R^max ≤ 1.8) waits for its runs (above, \"On bioS\").*")
    if parts is None:
        return Shown(title, [pending], [waiting])
    points = law.points_frame(parts["main"])
    shown = Shown(title, [running.note()] if running else [])
    if running:  # some of its runs are stored: shown, judged once all are
        shown.sections.append(waiting)
    else:
        judged = law.judge_near_perfect(points, "bioS")
        shown.sections.append(Section(title, [judged]) if judged else
                              Section(title, [], "*No bioS point has R^max ≤ 1.8: nothing to judge.*"))
    shown.items.append(plots.table(points[BELOW_COLUMNS]))
    edge = parts.get("edge_rates", [])
    widened = law.widened_points(parts["main"], edge)
    if not widened.empty:
        shown.items += ["One rate beyond the edge (seed 0), beside the committed best of three:", plots.table(widened)]
    beyond = law.judge_near_perfect(law.points_frame(parts["main"] + edge), "bioS, best of four rates") \
        if edge and not running else None
    if beyond:  # beside the committed verdict, never in its place
        shown.sections.append(Section(f"bioS, one rate beyond the edge ({EDGE_RATES})", [beyond], SEED_0))
    return shown


@dataclass
class Page:
    """What result 1's page shows and judges, read once from the records."""
    parts: dict[str, list[Record]]
    bios_points: list[Shown]
    below: Shown

    @property
    def top(self) -> dict:
        """The peak at seed 0's best rate, over its seeds (``law.headline``)."""
        return law.headline(self.parts["main"], self.parts["seeds"])

    @property
    def own(self) -> dict:
        """The peak with each seed at its own best rate (the seed-rates addendum)."""
        return law.headline_per_seed(self.parts["main"], self.parts["seeds"] + self.parts["seed_rates"])

    def sections(self) -> list[Section]:
        """Every verdict of the chapter: the committed claims first (the first page's row), then
        bioS's point of each protocol, bioS below the boundary and the seed-rates addendum."""
        own = self.own
        return [Section("committed", law.claims_result1(self.parts["main"], self.parts["seeds"])),
                *(section for shown in self.bios_points for section in shown.sections), *self.below.sections,
                Section(f"each seed at its own best rate ({SEED_RATES})", [
                    stats.judge("peak R(F) at 1000 exposures, each seed at its own best rate (addendum)", 2.0,
                                own["R"], own["low"], own["high"], "at_least", own["non_embedding"])])]


def page(profile: str = "cpu", *, allow_train: bool = False) -> Page:
    """Result 1's records (training what is missing where ``allow_train``) and bioS's points beside them."""
    parts = chapters.chapter_parts("result1", profile, allow_train=allow_train)
    return Page(parts, points(parts["main"], profile, allow_train=allow_train),
                below_boundary(profile, allow_train=allow_train))


#: the first page's reading of this chapter's verdicts (``kcl.book.claims``): by notebook, the
#: verdict sections from the committed records and how many of them the first page shows
FIRST_PAGE = {"result1": lambda profile: (page(profile).sections(), 1)}
