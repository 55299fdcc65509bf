"""Tuning efficiency: what the budget bought. The score gained per trial and per minute, and
the share of the budget (trials and time) that bought the last 10 % of the gain.

The gain is measured from a reference: the library defaults' CV score where the run scored them
(its baseline), else its first finished trial's score (a run made before baselines, or one
without them); `reference` says which. The curve is the best score against the finished trials
in the order they ended (`rundata.best_by_end`), so trials and time count what was spent when
each improvement came. `efficiency_of` does the arithmetic on such a curve (tested on hand-made
curves whose answer is known); `tuning_efficiency(run)` reads it from a run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from tuning.analysis.baseline import defaults_score, gain_over_defaults
from tuning.analysis.rundata import RunData, best_by_end, decimal, to_float

LAST_SHARE = 0.10  # "the last 10 % of the gain"


@dataclass(frozen=True)
class TuningEfficiency:
    """What the budget bought. Gains are in score units, signed so that > 0 is better."""

    reference: str  # "the library defaults" | "the first trial" | "" (nothing to measure)
    reference_score: float | None
    gain: float | None  # best - reference (> 0: tuning improved on it)
    trials: int  # finished trials (complete, pruned, failed: all spent budget)
    seconds: float  # from the first trial's start to the last one's end
    per_trial: float | None = None
    per_minute: float | None = None
    trials_to_90: int | None = None  # finished trials until 90 % of the gain was reached
    trials_to_best: int | None = None  # ... until the final best
    seconds_to_90: float | None = None
    seconds_to_best: float | None = None
    message: str = ""

    @property
    def last_trials_share(self) -> float | None:
        """Share of the trials spent after 90 % of the gain (the last 10 % and after)."""
        if self.trials_to_90 is None or not self.trials:
            return None
        return (self.trials - self.trials_to_90) / self.trials

    @property
    def last_time_share(self) -> float | None:
        if self.seconds_to_90 is None or self.seconds <= 0:
            return None
        return (self.seconds - self.seconds_to_90) / self.seconds


def efficiency_of(curve: pd.DataFrame, reference: float, sign: float,
                  last: float = LAST_SHARE) -> dict:  # fmt: skip
    """The arithmetic on a curve (columns end_s: seconds from the run's start to each finished
    trial's end, in the order they ended; best: the best score so far, NaN before the first)
    against a reference score. Returns the fields of TuningEfficiency it sets."""
    n = len(curve)
    seconds = float(curve["end_s"].max()) if n else 0.0
    out: dict = {"trials": n, "seconds": seconds}
    if not n:
        return out
    reached = sign * (to_float(curve["best"]) - reference)  # gain so far (> 0: better)
    reached = np.where(np.isfinite(reached), reached, -np.inf)
    gain = float(reached[-1])
    out["gain"] = gain if math.isfinite(gain) else None
    if out["gain"] is None:
        return out
    out["per_trial"] = gain / n
    out["per_minute"] = gain / (seconds / 60) if seconds > 0 else None
    if gain <= 0:
        return out
    end_s = to_float(curve["end_s"])
    i90 = int(np.argmax(reached >= (1 - last) * gain - 1e-12 * abs(gain)))
    ibest = int(np.argmax(reached >= gain))
    out.update(trials_to_90=i90 + 1, trials_to_best=ibest + 1,
               seconds_to_90=float(end_s[i90]), seconds_to_best=float(end_s[ibest]))  # fmt: skip
    return out


def tuning_efficiency(run: RunData) -> TuningEfficiency:
    """The run's tuning efficiency: against its library defaults where it scored them, else
    against its first finished trial."""
    curve = best_by_end(run.frame, run.direction)
    d = defaults_score(run)
    if d is not None and d.scored:
        reference, score = "the library defaults", float(d.mean)
    else:
        first = curve["best"].dropna()
        if first.empty:
            return TuningEfficiency("", None, None, len(curve), 0.0,
                                    message="No trial has completed yet: nothing was gained.")  # fmt: skip
        reference, score = "the first trial", float(first.iloc[0])
    fields = efficiency_of(curve, score, run.sign)
    eff = TuningEfficiency(reference, score, fields.pop("gain", None), **fields)
    g = gain_over_defaults(run) if reference == "the library defaults" else None
    noisy = g is not None and g.within_noise
    return replace(eff, message=efficiency_message(eff, run.label, noisy))


def efficiency_message(eff: TuningEfficiency, label: str, within_noise: bool = False) -> str:
    """The efficiency in words: the rates, then where the last 10 % of the gain came from."""
    if eff.gain is None:
        return eff.message or "No trial has completed yet: nothing was gained."
    ref = f"{eff.reference} ({eff.reference_score:.4g})"
    if eff.gain <= 0:
        return (f"Tuning gained nothing over {ref}: its best {label} is no better, so there "
                "is no rate to give.")  # fmt: skip
    rate = f"{decimal(eff.gain, 3)} {label} over {ref} in {eff.trials} trials"
    minute = f" and {decimal(eff.per_minute)} per minute" if eff.per_minute else ""
    text = (f"Tuning gained {rate}: {decimal(eff.per_trial)} per trial{minute} (over the run's "
            f"{_span(eff.seconds)} from the first trial's start to the last one's end).")  # fmt: skip
    if within_noise:
        text = ("The gain over the defaults is within fold-to-fold noise, so these rates "
                f"measure noise as much as progress. {text}")  # fmt: skip
    if eff.trials_to_90 is not None:
        text += (
            f" 90 % of the gain came within {eff.trials_to_90} trials "
            f"({_span(eff.seconds_to_90)}); the last 10 % took the rest of the budget: "
            f"{100 * eff.last_trials_share:.0f} % of the trials and "
            f"{100 * (eff.last_time_share or 0):.0f} % of the time"
        )
        after = eff.trials - (eff.trials_to_best or eff.trials)
        text += (f", of which the {after} trials after the final best added nothing."
                 if after else ".")  # fmt: skip
    return text


def _span(seconds: float) -> str:
    return f"{seconds:.3g} s" if seconds < 120 else f"{seconds / 60:.3g} min"
