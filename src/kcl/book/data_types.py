"""Result 2's page: one protocol's records over data types (bioS, bioS-simple, the bioR proxy).

The page shows the versions of the same claim's protocol (``chapter_list.VERSIONS``: v4 decides,
v3 and v2 stay as sections), each with the same figures. ``DataTypeView`` holds one protocol's records and draws each figure, so the
notebook calls it once per protocol instead of repeating its cells (App. A.3, Fig. 11).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from kcl.book import law, plots, positions, stats
from kcl.book.catalog import run_records, trained_as
from kcl.book.chapter_list import VERSIONS, short_title
from kcl.book.chapters import CHAPTERS, repo_root
from kcl.book.progress import StoredSoFar, shown_so_far, stored_so_far
from kcl.record import Record

POINT_COLUMNS = ["data", "model", "P", "P_non_embedding", "R", "R_low", "R_high", "R_max", "R_non_embedding",
                 "accuracy", "best_lr", "best_lr_at_edge", "lr_tried", "minutes"]
#: the claims a held-back verdict will judge, so its row says what it waits to judge
HELD_CLAIMS = law.RESULT2_CLAIMS
PARTS = ("pilot", "main", "seeds", "edge_rates")  # a chapter's parts, in the order they are run


@dataclass(frozen=True)
class DataTypeView:
    """One chapter's records by part (``parts`` None while no main run is stored, ``pending`` then
    says so), and ``running`` while its sweeps are incomplete or stopped (``StoredSoFar``)."""

    chapter: str
    profile: str
    parts: dict[str, list[Record]] | None
    running: StoredSoFar | None
    pending: str

    @property
    def stored(self) -> bool:
        return self.parts is not None

    @functools.cached_property
    def heads(self) -> dict[str, dict]:
        """``law.by_data_type``: seed 0 alone while running, else the mean over seeds."""
        return law.by_data_type(self.parts["main"], [] if self.running else self.parts["seeds"])

    @property
    def records(self) -> list[Record]:
        """Every record of the chapter: pilot, main sweep, seed reruns, reruns beyond an edge."""
        return [r for part in PARTS for r in self.parts.get(part, [])]

    @property
    def best(self) -> list[Record]:
        """Each data type's best run at seed 0."""
        return [h["record"] for h in self.heads.values()]

    def banner(self) -> str:
        """What stands above the figures: the running or stopped note, or the pending line."""
        if not self.stored:
            return self.pending
        return self.running.note() if self.running else ""

    def glue_values(self) -> dict[str, str]:
        """The figures a page's text quotes: runs, core-hours, model, people, the embedding's share."""
        first = self.parts["main"][0]
        bars = ("Each bar is seed 0 at its best rate stored, with its 95% bootstrap interval over people."
                if self.running else "The bars are means over the three seeds with a 95% t-interval; the dots "
                "are the seeds.")
        main_store = [r for part in PARTS[1:] for r in self.parts.get(part, [])]
        return {**stats.compute_values(main_store, pilot=self.parts.get("pilot", [])), "model": law.model_label(first.model),
                "people": f"{first.data['n_people']:,}", "batch": f"{first.train['batch_size']}",
                **self._count_values(), "bars": bars}

    def _count_values(self) -> dict[str, str]:
        """The embedding's share of P and P over non-embedding P, per data type where they differ (the
        vocabulary follows the data: the bioR proxy's template pool and fillers make its embedding larger)."""
        by_count: dict[tuple[str, str], list[str]] = {}
        for record in self.parts["main"]:
            p, name = record.result.params, record.data["name"]
            count = (f"{p.embedding / p.total:.0%}", f"{p.total / p.non_embedding:.1f}")
            names = by_count.setdefault(count, [])
            names += [] if name in names else [name]
        if len(by_count) == 1:
            (share, factor), = by_count
            return {"embedding_share": share, "nonemb_factor": factor}
        return {key: ", ".join(f"{count[i]} for {' and '.join(names)}" for count, names in by_count.items())
                for i, key in enumerate(("embedding_share", "nonemb_factor"))}

    def data_types_chart(self, protocol: str):
        what = " (seed 0, stored so far)" if self.running else " (mean over seeds, 95% interval)"
        return plots.data_types(self.heads, title=f"{protocol}: bits per parameter by data type{what}")

    @functools.cached_property
    def points(self) -> pd.DataFrame:
        """Each data type's point (best of its rates, seed 0) under both counts."""
        return law.points_frame(self.parts["main"])

    def points_table(self) -> pd.DataFrame:
        return plots.table(self.points[POINT_COLUMNS])

    def runs_table(self) -> pd.DataFrame:
        """Every run of the protocol, in the order stored: its part, setting, R and how it was
        trained (processes and compiled or eager: the same run up to rounding, book/performance.md)."""
        rows = []
        for part in PARTS:
            for record in self.parts.get(part, []):
                train = record.result.train
                rows.append({"part": part, "data": record.data["name"], "lr": record.train["lr"],
                             "seed": record.train["seed"], "R": round(record.result.R, 3), "steps": train.steps,
                             "hours": round(train.wall_seconds / 3600, 2), "trained": trained_as(train)})
        return pd.DataFrame(rows)

    def rates_chart(self, protocol: str):
        """Every rate tried: the pilot that chose them (if the chapter has one), the main sweep and
        the reruns beyond an edge."""
        runs = self.parts.get("pilot", []) + self.parts["main"] + self.parts.get("edge_rates", [])
        return plots.lr_sweep(law.lr_frame(runs), title=f"{protocol}: every learning rate tried (each point takes the best)")

    @functools.cached_property
    def widened(self) -> pd.DataFrame:
        """The points rerun one rate beyond an edge, beside their committed figure."""
        return law.widened_points(self.parts["main"], self.parts.get("edge_rates", []))

    def widened_table(self) -> pd.DataFrame | None:
        """``widened`` as the page shows it; None when nothing was rerun beyond an edge."""
        return None if self.widened.empty else plots.table(self.widened)

    def edge_note(self) -> str:
        """What the page says about the reruns beyond an edge (the table is ``widened``)."""
        if self.widened.empty and self.running:
            beyond = ", ".join(f"{c.data.name} at {c.train.lr:g}" for c in self.running.missing.get("edge_rates", []))
            ending = ("; none so far." if not beyond else f"; still to run: {beyond}." if not self.running.superseded_by
                      else f"; not run, as this protocol stopped: {beyond}.")
            return ("*A data type whose best rate sits at an edge of its three rates is rerun one rate beyond it "
                    f"once all three are stored{ending}*")
        if self.widened.empty:
            return "Every data type's best rate lies inside its three rates: nothing was rerun beyond them."
        return ("**One rate beyond the edge.** These data types peaked at an edge of the three rates and were run "
                "once more, at seed 0, two-fold beyond it. The committed figure (seed 0, best of three) beside the "
                "widened one (best of four)" + ("." if self.running else "; the verdict stays the committed one."))

    def verdict_sections(self) -> list[stats.Section]:
        """The verdicts as ``stats.verdicts_table`` and ``stats.sections_markdown`` take them: the
        committed ones (held back, with the reason, while the sweep runs or after it stopped) and
        the reruns beyond an edge beside them (seed 0, best of four)."""
        held = f"committed ({HELD_CLAIMS})"
        if not self.stored:
            return [stats.Section(held, None, f"*Pending: no verdict before {short_title(self.chapter)}'s runs are "
                                              "stored.*")]
        if self.running:
            return [stats.Section(held, None, self.running.verdict_note())]
        sections = [stats.Section("committed", law.claims_result2(self.parts["main"], self.parts["seeds"]))]
        reran = {r.data["name"] for r in self.parts["edge_rates"]}
        if reran:
            def of_reran(claims: list) -> list:
                return [j for j in claims if j.claim.split(":")[0] in reran]

            sections.append(stats.addendum_section(  # seed 0 beside seed 0: a row only where the rate beyond did better
                "one rate beyond the edge (seed 0)",
                of_reran(law.claims_result2(self.parts["main"] + self.parts["edge_rates"], [])),
                of_reran(law.claims_result2(self.parts["main"], [])),
                "*Seed 0 at its best of four rates, 95% bootstrap over people, beside the committed verdicts.*"))
        return sections

    def verdict(self) -> str:
        """The verdict cell (Markdown) from ``verdict_sections``: the committed verdicts and the
        reruns beyond an edge beside them, or the sentence that stands in their place."""
        return stats.sections_markdown(self.verdict_sections(), self.profile)

    def summary(self, protocol: str) -> list:
        """Everything of this protocol in one section, in order: banner, data types, rates, the
        points, the reruns beyond an edge and the verdict (what a page shows for a protocol that
        no longer leads it)."""
        if not self.stored:
            return [self.pending]
        banner, widened = self.banner(), self.widened_table()
        return [*([banner] if banner else []), self.data_types_chart(protocol), self.rates_chart(protocol),
                self.points_table(), self.edge_note(), *([] if widened is None else [widened]), self.verdict()]


def view(chapter: str, profile: str = "cpu", *, allow_train: bool = False, root=None) -> DataTypeView:
    """A chapter's records as ``progress.shown_so_far`` finds them, training what is missing only if
    ``allow_train`` and never for a stopped protocol (``Chapter.superseded_by``): in the smoke
    profile, whose temporary store is empty, such a chapter shows a line saying so."""
    successor = CHAPTERS[chapter].superseded_by
    if successor and profile == "smoke":  # its temporary store holds nothing, and it never trains again
        return DataTypeView(chapter, profile, None, None, f"*{CHAPTERS[chapter].title}: stopped, superseded by "
                            f"{short_title(successor)}; the smoke profile trains only the protocol that decides.*")
    parts, running, pending = shown_so_far(chapter, profile, allow_train=allow_train and not successor, root=root)
    return DataTypeView(chapter, profile, parts, running, pending)


def versions(chapter: str, profile: str = "cpu", *, allow_train: bool = False, root=None) -> dict[str, DataTypeView]:
    """Each protocol version of a chapter (``chapter_list.VERSIONS``) as a view, by label: the
    deciding version first, then the others newest first (a stopped one never trains: ``view``)."""
    v = VERSIONS[chapter]
    order = [(v.deciding, v.protocol()), *v.others()]
    return {label: view(name, profile, allow_train=allow_train, root=root) for label, name in order}


def across_section(profile: str = "cpu") -> list:
    """Result 2's page, "Across every biography run": bits by sentence position over every stored
    biography record, their totals by N, and the steps diagnostic (``bios-steps``) once stored,
    read by its rule only once its sweep is complete (``kcl.book.positions``). Items for ``plots.show``."""
    across = positions.across_records(run_records(repo_root() / "results", profile))
    if across.empty:
        return ["*No biography records are stored for this profile (the smoke profile trains into temporary "
                "folders).*"]
    totals = positions.totals_summary(across)
    items = [positions.across_summary(across),
             "**Totals.**\n\n" + totals if totals else "*No data set is stored at more than one N yet.*"]
    steps_so_far = stored_so_far("bios-steps", profile)
    steps = positions.steps_summary(across, read=steps_so_far.complete)
    if not steps:
        return items + ["*Pending: the steps diagnostic (no run of `kcl chapter bios-steps --workers 2` is stored "
                        "yet).*", plots.table(across)]
    items += ["**More steps.**\n\n" + steps, plots.r_against_steps(positions.steps_frame(across))]
    if not steps_so_far.complete:
        items.append(f"*The steps diagnostic is still running: {steps_so_far.summary()} "
                     "(`kcl chapter bios-steps --dry-run --workers 2`).*")
    return items + [plots.table(across)]
