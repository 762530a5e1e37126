"""Result 2's chapter: bioS, bioS-simple and the bioR proxy at 1000 exposures, and why the proxy stores less.

The page shows the versions of the same claim's protocol (``chapter_list.VERSIONS``: v4 decides,
v3 and v2 stay as sections), each with the same figures. ``DataTypeView`` holds one protocol's
records and draws each figure, so the notebook calls it once per protocol instead of repeating its
cells (App. A.3, Fig. 11); ``verdicts`` gives the chapter's verdicts, which the notebook and the
first page's table of claims both show.

Why the bioR proxy stores less than bioS: two diagnostics (book/protocol.md, "Diagnostics"),
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

import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kcl.book import law, plots, positions, stats
from kcl.book.catalog import run_records, trained_as
from kcl.book.chapter_list import VERSIONS, short_title
from kcl.book.chapters import CHAPTERS, repo_root
from kcl.book.progress import StoredSoFar, shown_so_far, stored_so_far
from kcl.book.stats import Section, r_interval
from kcl.record import Record
from kcl.records import data_name

POINT_COLUMNS = ["data", "model", "P", "P_non_embedding", "R", "R_low", "R_high", "R_max", "R_non_embedding",
                 "accuracy", "best_lr", "best_lr_at_edge", "lr_tried", "minutes"]
#: the claims a held-back verdict will judge, so its row says what it waits to judge
HELD_CLAIMS = law.RESULT2_CLAIMS
DATA_TYPES = ("bioS", "bioS-simple", "bioR-proxy")  # the data types whose claims result 2 judges
#: protocols that by an addendum train fewer data types than result 2 judges: where it says why
NOT_TRAINED = {"result2-v4": "the addendum to \"bioS protocol v4\" that trains bioS alone, on the protocol page"}
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
        if self.untrained:
            sections.append(stats.Section("not trained", [], (
                f"*{' and '.join(self.untrained)} were not trained under this protocol ({NOT_TRAINED[self.chapter]}): "
                "their claims are not judged here; protocol v3's verdicts on them stand.*")))
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

    @property
    def untrained(self) -> list[str]:
        """The data types an addendum left untrained (``NOT_TRAINED``) that have no main run; [] for
        any other protocol."""
        if self.chapter not in NOT_TRAINED or not self.stored:
            return []
        trained = {r.data["name"] for r in self.parts["main"]}
        return [name for name in DATA_TYPES if name not in trained]

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


def verdicts(views: dict[str, DataTypeView], profile: str = "cpu") -> tuple[list[Section], list[Section], str]:
    """The chapter's verdicts from its ``versions``: every section under its protocol's name, the
    first page's rows (v4's; v3's beside them while v4 holds its verdict back, or, once v4 is judged,
    v3's on the data types v4 left untrained, ``NOT_TRAINED``) and the summary (``stats.versions_verdicts``)."""
    flat, first, summary = stats.versions_verdicts([("v4", views["v4"].verdict_sections()),
                                                    ("v3", views["v3"].verdict_sections())], profile)
    untrained, v3 = views["v4"].untrained, views["v3"]
    if profile == "smoke" or not untrained or not first[0].judgements or not v3.stored or v3.running:
        return flat, first, summary
    theirs = [j for j in law.claims_result2(v3.parts["main"], v3.parts["seeds"]) if j.claim.split(":")[0] in untrained]
    beside = stats.Section(f"Protocol v3: committed ({' and '.join(untrained)}, not trained under v4)", theirs)
    def outcomes(judgements) -> str:
        return ", ".join(f"{j.claim.split(':')[0]} {j.outcome}" for j in judgements)

    return flat, first + [beside], (f"protocol v4: {outcomes(first[0].judgements)}; protocol v3 (not trained under "
                                    f"v4): {outcomes(theirs)}")


#: protocol v4's runs that say what the subword tokenizer changed, by store under results/: bioS's own
#: runs, its word-level control at the same point, and the two diagnostics that trained its setup at
#: smaller N (book/protocol.md, "bioS protocol v4" and "Diagnostics")
TOKENIZER_STORES = ("result2-v4", "result2-v4-control", "diagnostics/v4-small", "diagnostics/v4-small-eager",
                    "diagnostics/v4-ladder")
#: the small-N diagnostics' rule: a run stores its people when R / R^max is at least this
STORES_PEOPLE = 0.5
LADDER_RATE = 0.01  # the ladder diagnostic's rate (sweeps/diag-v4-ladder.yaml)


def tokenizer_records(root=None) -> dict[str, list[Record]]:
    """bioS protocol v4's setup at seed 0 on bioS, by store (``TOKENIZER_STORES``): every N,
    tokenizer, rate and way of training stored; a store with none gives an empty list."""
    found = run_records((Path(root) if root else repo_root()) / "results", stores=TOKENIZER_STORES)
    return {store: [r for s, r in found if s == store and r.data["name"] == "bioS" and r.train["seed"] == 0]
            for store in TOKENIZER_STORES}


def tokenizer_frame(records: list[Record]) -> pd.DataFrame:
    """One row per run: N, tokens, rate, how it was trained, R with its interval, R^max, the share of
    it stored and whether that stores the people (``STORES_PEOPLE``), bits (names, values), P (and
    its non-embedding part), accuracy."""
    rows = []
    for record in records:
        r = record.result
        low, high = r_interval(r)
        rows.append({"N": record.data["n_people"], "tokens": "subword" if record.data.get("tokenizer") == "bpe"
                     else "word-level", "lr": record.train["lr"], "compiled": bool(r.train.get("compiled")),
                     "trained": "compiled" if r.train.get("compiled") else "eager",
                     "R": r.R, "R_low": low, "R_high": high, "R_max": r.R_max, "R_over_R_max": r.R / r.R_max,
                     "stores_its_people": "yes" if r.R / r.R_max >= STORES_PEOPLE else "no",
                     "bits": r.bits, "bits_name": r.get("bits_name"), "bits_value": r.get("bits_value"),
                     "P": r.params.total, "P_non_embedding": r.params.non_embedding, "accuracy": r.accuracy_mean})
    columns = ["N", "tokens", "lr", "compiled", "trained", "R", "R_low", "R_high", "R_max", "R_over_R_max", "stores_its_people",
               "bits", "bits_name", "bits_value", "P", "P_non_embedding", "accuracy"]
    return pd.DataFrame(rows, columns=columns).sort_values(["tokens", "N", "lr", "compiled"], ignore_index=True)


def ladder_reading(frame: pd.DataFrame) -> str:
    """The ladder diagnostic read by its rule (subword tokens, compiled, at ``LADDER_RATE``): where
    storage stops between N = 200 and 3000, from whether N = 500 and N = 1000 store their people;
    what it waits for while either is missing."""
    at = frame[(frame["tokens"] == "subword") & (frame["lr"] == LADDER_RATE) & frame["compiled"]]
    stores = {int(row.N): row.stores_its_people == "yes" for row in at.itertuples()}
    missing = [n for n in (500, 1000) if n not in stores]
    if missing:
        return f"The ladder's reading waits for N = {' and '.join(f'{n:,}' for n in missing)}."
    where = {(True, True): "between N = 1,000 and 3,000", (False, False): "between N = 200 and 500",
             (True, False): "between N = 500 and 1,000"}.get((stores[500], stores[1000]))
    if where is None:
        return "N = 1,000 stores its people where N = 500 does not: the ladder's rule names no place where storage stops."
    bits = "; ".join(f"N = {int(row.N):,} stores {row.bits:,.0f}" for row in at.itertuples())
    best = at.loc[at["bits"].idxmax()]
    return (f"By the ladder's rule, with subword tokens storage stops {where}. The bits stored at rate "
            f"{LADDER_RATE:g}: {bits}. The most over the N tried is {best['bits']:,.0f}, at N = {int(best['N']):,}.")


def control_reading(frame: pd.DataFrame, control_stored: bool) -> str:
    """Each N where both tokenizers trained the same point (rate and way of training): the bits, R,
    P and the embedding's share of P of each, word-level beside subword (the vocabulary, and so P
    and R^max, follow the tokens), and where every pair has the same body, a sentence saying so; a
    line saying what is pending while protocol v4's control is not stored."""
    keys = ["N", "lr", "compiled"]
    pairs = frame[frame["tokens"] == "subword"].merge(frame[frame["tokens"] == "word-level"], on=keys,
                                                       suffixes=("_subword", "_word"))

    def embedding(P: int, body: int) -> str:
        return f"embedding {1 - body / P:.0%}"

    words = [f"at N = {int(row.N):,} (rate {row.lr:g}), word-level tokens store {row.bits_word:,.0f} bits "
             f"(R = {row.R_word:.3f} of P = {row.P_word:,}, {embedding(row.P_word, row.P_non_embedding_word)}, "
             f"{row.R_over_R_max_word:.0%} of R^max) where subword tokens store {row.bits_subword:,.0f} "
             f"(R = {row.R_subword:.3f} of P = {row.P_subword:,}, {embedding(row.P_subword, row.P_non_embedding_subword)}, "
             f"{row.R_over_R_max_subword:.0%})" for row in pairs.itertuples()]
    text = ("The tokenizer alone, the same architecture and people: " + "; ".join(words) + ".") if words else ""
    if words and (pairs["P_non_embedding_word"] == pairs["P_non_embedding_subword"]).all():
        text += (" The model's body is the same in each pair; the tokenizer changes the embedding, and so P and "
                 "R^max, and how many tokens a name or a value spans.")
    if not control_stored:
        text += (" *Pending: protocol v4's control, bioS's best point with word-level tokens "
                 "(`kcl sweep sweeps/v4-tokenizer-control.yaml --workers 1`).*")
    return text.strip()


def tokenizer_section(profile: str = "cpu", root=None) -> list:
    """Result 2's page, "What the tokenizer changed": protocol v4's setup on bioS at every N it was
    trained at, with subword and word-level tokens, the ladder's reading and the control beside
    bioS's point. Items for ``plots.show``; committed records only (the cpu profile)."""
    if profile != "cpu":
        return ["*The tokenizer's runs are read from the committed records (the cpu profile).*"]
    stored = tokenizer_records(root)
    frame = tokenizer_frame([r for records in stored.values() for r in records])
    if frame.empty:
        return ["*Pending: no run of protocol v4's setup is stored yet.*"]
    control = control_reading(frame, control_stored=bool(stored["result2-v4-control"]))
    return [" ".join(t for t in (ladder_reading(frame), control) if t),
            plots.table(plots.with_intervals(frame.drop(columns="compiled")), wrap=False)]


#: the fillers rule (book/protocol.md): the proxy without fillers "stores more" when its bits exceed
#: the proxy's by more than this share of them and its 95% bootstrap interval of the bits lies wholly
#: above the proxy's; it "stores about as much as bioS" when within this share of bioS's bits or above
FILLERS_GAIN = 0.10
#: the templates rule (book/protocol.md): bioS's template pool accounts for most of the gap left
#: without fillers when it closes more than this share of it (its run's bits interval wholly above
#: the proxy without fillers'); the fixed rewrites do when it closes less (its interval wholly below bioS's)
TEMPLATES_SHARE = 0.5
FILLERS_CHAPTER = "bior-fillers"
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

    return items + ([plots.table(frame)] if not frame.empty else [])


def fillers_section(profile: str = "cpu", root=None) -> list:
    """What result 2's page shows of the fillers diagnostic: its reading (or what is still missing,
    with the command) and the table of its runs; Markdown strings and a frame."""
    return _section(profile, root, "fillers", (FILLERS_CHAPTER,), FILLERS_RUNS, fillers_reading)


def templates_section(profile: str = "cpu", root=None) -> list:
    """What result 2's page shows of the templates diagnostic: its reading and its run beside the
    fillers diagnostic's bioS and proxy without fillers; Markdown strings and a frame."""
    return _section(profile, root, "templates", (FILLERS_CHAPTER, TEMPLATES_CHAPTER), TEMPLATES_RUNS, templates_reading)


def _first_page(profile: str) -> tuple[list[Section], int]:
    _, headline, _ = verdicts(versions("result2", profile), profile)
    return headline, len(headline)


#: the first page's reading of this chapter's verdicts (``kcl.book.claims``): by notebook, the
#: verdict sections from the committed records and how many of them the first page shows
FIRST_PAGE = {"result2": _first_page}
