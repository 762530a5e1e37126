"""The compile diagnostic (book/protocol.md, "Diagnostics"): does training through
``torch.compile`` change the bits a run stores?

The reference run at three training seeds, each trained eagerly (chapter ``compile-eager``) and
compiled (chapter ``compile``) on one thread. Compiling fuses a step's operators, which changes the
order and rounding of its float sums as a thread count does; over thousands of steps such changes
grow into a different run, so the question is whether the compiled runs differ from the eager ones
by more than runs differ from each other. The rule, written before seeds 1 and 2 had finished: the
95% t-interval of the mean relative difference (compiled − eager) / eager over the seeds must
contain 0 for the remaining runs of result 2 v3 to be allowed to train compiled.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kcl.book.chapters import chapter_records
from kcl.book.stats import r_interval, seed_interval
from kcl.record import Result

EAGER, COMPILED = "compile-eager", "compile"


def compile_pairs(profile: str = "cpu", allow_train: bool = False) -> pd.DataFrame:
    """One row per training seed stored in both chapters: R (and its 95% bootstrap interval over
    people) eager and compiled, their relative difference and each run's training tokens/s.
    ``kcl.store.MissingResultsError`` while either chapter misses runs (unless ``allow_train``)."""
    def by_seed(chapter):
        records = chapter_records(chapter, profile, allow_train=allow_train, log=lambda _: None)
        return {r.train["seed"]: r.result for r in records}

    eager, compiled = by_seed(EAGER), by_seed(COMPILED)
    rows = []
    for seed in sorted(set(eager) & set(compiled)):
        e, c = eager[seed], compiled[seed]
        if not c.train.compiled or e.train.compiled:
            raise ValueError(f"seed {seed}: the compile diagnostic's stores are mixed up "
                             "(an eager record in the compiled store, or the reverse)")
        rows.append({"seed": seed, "R_eager": e.R, "R_eager_ci": _ci(e), "R_compiled": c.R,
                     "R_compiled_ci": _ci(c), "difference": (c.R - e.R) / e.R,
                     "eager_tokens_per_s": e.train.tokens_per_second,
                     "compiled_tokens_per_s": c.train.tokens_per_second})
    return pd.DataFrame(rows)


def _ci(result: Result) -> str:
    low, high = r_interval(result)
    return f"[{low:.3f}, {high:.3f}]"


@dataclass(frozen=True)
class CompileReading:
    """The rule applied: the mean relative difference in R with its 95% t-interval over seeds."""

    seeds: int
    mean: float
    low: float
    high: float
    all_same_sign: bool

    @property
    def allowed(self) -> bool:
        """The interval contains 0: no change beyond run-to-run noise that three seeds can see."""
        return self.low <= 0.0 <= self.high

    def sentence(self) -> str:
        way = ("contains 0: compiled training shows no change beyond run-to-run noise, so by the rule "
               "result 2 v3's remaining runs may train compiled" if self.allowed else
               "excludes 0: compiled training changes what is measured, so by the rule every run trains eagerly")
        sign = (f"; all {self.seeds} compiled runs came out {'above' if self.mean > 0 else 'below'} their eager twins, "
                "so a shift of a few percent is not excluded" if self.all_same_sign else "")
        return (f"Over {self.seeds} seeds the compiled runs' R differs from the eager runs' by {self.mean:+.1%} "
                f"on average, 95% t-interval [{self.low:+.1%}, {self.high:+.1%}], which {way}{sign}.")


def compile_reading(pairs: pd.DataFrame) -> CompileReading:
    """The rule of book/protocol.md applied to ``compile_pairs`` (at least 2 seeds)."""
    mean, low, high = seed_interval(pairs["difference"])
    signs = set((pairs["difference"] > 0).tolist())
    return CompileReading(seeds=len(pairs), mean=mean, low=low, high=high, all_same_sign=len(signs) == 1)
