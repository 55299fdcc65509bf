"""Issue 26: is the replay faithful? For every model-guided trial of real runs, the replayed
acquisition (tuning/analysis/replay.py) ranks the trial's actual point among 1,000 random points
of the space; target for TPE and the Gaussian process: in the top 10 % for >= 90 % of them.

TPE: log l(x) - log g(x). GP: log expected improvement of Optuna's own GP, refitted along the
fit the studio recorded when the GP proposed the trial; also measured as a study made elsewhere
(no record) is replayed: fitted afresh, and retracing the sampler's last 5 fits (the default).
CMA-ES: log density of the generation's search distribution (its points are drawn from it, not
maximized, so the top-10 % target does not apply; the share within 3 standard deviations does).

Runs of the studio's engine (one worker, each method's studio settings), models x datasets
below, N trials each. Also times one replay on a run of 500 trials (a quick objective of two
parameters through the engine; target <= 1 s).

    python benchmarks/replay_faithfulness.py [--methods tpe,gp,cmaes] [--trials 30]
        [--models knn,svm,random_forest] [--datasets iris,breast_cancer]
        [--timing-trials 500] [--out PATH]

Each method's section replaces its own in the results file; the others are kept.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import optuna  # noqa: E402
from optuna.distributions import CategoricalDistribution  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from tuning.analysis import replay as engine  # noqa: E402
from tuning.core.config import DatasetRef, RunConfig  # noqa: E402
from tuning.methods import get_method  # noqa: E402
from tuning.models import REGISTRY as MODELS  # noqa: E402
from tuning.runs.runner import create_run, execute  # noqa: E402
from tuning.store import compat  # noqa: E402
from tuning.store.runs import load_study  # noqa: E402
from tuning.store.storage import open_storage  # noqa: E402
from tuning.store.trials import TrialMetrics  # noqa: E402

TOP = 0.90  # the actual point must score above this share of random points
TARGET = 0.90  # ... in at least this share of model-guided trials
TITLES = {"tpe": "TPE", "gp": "Gaussian process (GP)", "cmaes": "CMA-ES"}


def run_of(method: str, model: str, dataset: str, trials: int, folder: Path):
    store = open_storage(f"journal:///{folder / f'{method}-{model}-{dataset}.journal'}")
    config = RunConfig(dataset=DatasetRef(dataset), model=model, method=method,
                       space=MODELS[model].default_space("classification"), n_trials=trials,
                       cv_folds=3, n_jobs=1, seed=0)  # fmt: skip
    name = create_run(config, store)
    assert execute(name, store, refit=False) == "finished"
    return load_study(name, store), get_method(method).sampler(0, config.method_options)


def local_peak(r: engine.Replay, rng: np.random.Generator) -> bool:
    """Whether the trial's point beats 40 points within 2 % of each range around it: where it
    does, the sampler's optimizer stopped on a local peak of this very acquisition."""
    near = {}
    for k, d in r.space.items():
        x = np.repeat(r.point[k], 40)
        if not isinstance(d, CategoricalDistribution) and getattr(d, "step", None) is None:
            lo, hi = (math.log(d.low), math.log(d.high)) if d.log else (d.low, d.high)
            v = (np.log(x) if d.log else x) + rng.uniform(-0.02, 0.02, 40) * (hi - lo)
            x = np.clip(np.exp(v) if d.log else v, d.low, d.high)
        near[k] = x
    return bool(r.score >= r.model.acquisition(near).max() - 1e-9)


def one(method: str, model: str, dataset: str, trials: int, folder: Path) -> dict:
    """Each model-guided trial's rank (and for the GP its rank with fresh fits and, where it
    misses the top tenth, why), with seconds per replay, on one fresh run."""
    study, sampler = run_of(method, model, dataset, trials, folder)
    out: dict = {"ranks": [], "seconds": [], "fresh": [], "path": [], "gaps": [], "misses": []}
    rng = np.random.default_rng(0)
    for t in study.get_trials(deepcopy=False):
        t0 = time.perf_counter()
        r = engine.replay(study, t.number, sampler)
        if isinstance(r, str):
            continue
        out["seconds"].append(time.perf_counter() - t0)
        out["ranks"].append(r.rank)
        if method == "cmaes":
            out["gaps"].append(math.sqrt(max(0.0, 2 * (r.model.facts["peak"] - r.score))))
        if method == "gp":
            for key, cut in (("fresh", 0), ("path", engine.GP_PATH_MAX)):
                engine.GP_PATH = cut
                out[key].append(engine.replay(study, t.number, sampler).rank)
            engine.GP_PATH = None
            if r.rank < TOP:
                why = "local peak" if local_peak(r, rng) else "not a local peak"
                out["misses"].append(f"trial {t.number} rank {r.rank:.2f} ({why}; "
                                     f"nearest {'the best' if r.nearest == r.best else 'another'} "
                                     "trial)")  # fmt: skip
    return out


def quick(trial: optuna.Trial) -> float:
    """Two parameters and a record (the trial's origin is written with it), in a millisecond."""
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_float("y", 1e-3, 1e3, log=True)
    value = -((x - 1.0) ** 2) - (math.log10(y) - 1.0) ** 2
    TrialMetrics.scored([value]).save(trial)
    return value


def timing(method: str, n: int, folder: Path, path_at: int = 60) -> list[str]:
    """Seconds to replay the last trial of an n-trial run. The GP is replayed on a TPE run (a
    500-trial GP run takes the GP sampler itself most of an hour): its cost is its kernel fits
    on the trials known, whoever proposed them; retracing the whole path of fits is timed at
    trial `path_at` (it grows with the square of the trials)."""
    store = open_storage(f"journal:///{folder / f'timing-{method}.journal'}")
    made_by = "tpe" if method == "gp" else method
    config = RunConfig(dataset=DatasetRef("regression", params={"n_samples": 120, "n_features": 5}),
                       model="ridge", method=made_by, n_trials=n, seed=0, n_jobs=1)  # fmt: skip
    name = create_run(config, store)
    assert execute(name, store, objective=quick, refit=False) == "finished"
    study = load_study(name, store)
    sampler = get_method(method).sampler(0, {})
    engine.clear_gp_fits()
    if method != "gp":
        return [replay_time(study, n - 1, sampler, n, "first replay on the run")]
    # A TPE run records no GP kernel: give its last trial the one the GP fits there, as a
    # studio GP run records it, then time the ways a study made elsewhere rebuilds it.
    recorded = engine.trial_origin
    done = [t for t in study.get_trials(deepcopy=False)[: n - 1] if t.state == TrialState.COMPLETE]
    fitted = compat.gp_fit(sampler, study.direction, engine.gp_space(done), done)
    kernel = compat.gp_kernel_params(fitted)

    def with_kernel(t):
        o = recorded(t)
        return dataclasses.replace(o, kernel=kernel) if t.number == n - 1 else o

    engine.trial_origin = with_kernel
    lines = [replay_time(study, n - 1, sampler, n, "rebuilding the recorded fit (a studio GP run)")]
    engine.trial_origin = recorded
    for label, number, path in [
        ("one kernel fit from the default start (a study made elsewhere, path cut to 0)", n - 1, 0),
        ("retracing every fit of the sampler (a study made elsewhere)", path_at, 10**6),
    ]:  # fmt: skip
        engine.GP_PATH = path
        engine.clear_gp_fits()
        lines.append(replay_time(study, number, sampler, n, label))
        engine.GP_PATH = None
    return lines


def replay_time(study, number: int, sampler, n: int, label: str) -> str:
    t0 = time.perf_counter()
    r = engine.replay(study, number, sampler)
    seconds = time.perf_counter() - t0
    assert not isinstance(r, str), r
    return (f"Replay of trial {number} ({r.known} trials known) of a {n}-trial run, {label}: "
            f"{seconds * 1e3:.0f} ms; target <= 1 s: {'met' if seconds <= 1 else 'NOT MET'}")


def section(method: str, args: argparse.Namespace, folder: Path) -> list[str]:
    out = [f"## {TITLES[method]} replay faithfulness ({time.strftime('%Y-%m-%d %H:%M')}, "
           f"{platform.machine()}, {os.cpu_count()} CPUs): {args.trials} trials per run, "
           "1,000 random points per replay",
           f"# a hit: the trial's actual point scores above {TOP:.0%} of the random points"]  # fmt: skip
    hits = total = 0
    times: list[float] = []
    fresh: list[float] = []
    path: list[float] = []
    misses: list[str] = []
    gaps: list[float] = []
    for model in args.models.split(","):
        for dataset in args.datasets.split(","):
            res = one(method, model, dataset, args.trials, folder)
            ranks = res["ranks"]
            h = sum(r >= TOP for r in ranks)
            hits, total, times = hits + h, total + len(ranks), times + res["seconds"]
            fresh, path, gaps = fresh + res["fresh"], path + res["path"], gaps + res["gaps"]
            misses += [f"{model} {dataset} {m}" for m in res["misses"]]
            low = min(ranks, default=float("nan"))
            line = (f"{model:<14} {dataset:<14} {h:>3} of {len(ranks):>3} model-guided trials "
                    f"in the top 10 % ({h / max(1, len(ranks)):.0%}); lowest rank {low:.2f}")  # fmt: skip
            if res["fresh"]:
                f = sum(r >= TOP for r in res["fresh"])
                p = sum(r >= TOP for r in res["path"])
                line += f"; without the record: fresh fits {f}, last {engine.GP_PATH_MAX} fits {p}"
            out.append(line)
            print(line, flush=True)
    share = hits / max(1, total)
    verdict = f"target >= {TARGET:.0%}: {'met' if share >= TARGET else 'NOT MET'}"
    if method == "cmaes":
        verdict = (f"(no top-10 % target: points are drawn from the distribution); "
                   f"{sum(g < 3 for g in gaps)} of {len(gaps)} within 3 standard deviations of "
                   f"its mean, median {statistics.median(gaps):.2f}")  # fmt: skip
    out.append(f"All: {hits} of {total} ({share:.0%}); {verdict}")
    for kind, ranks in ((" fresh kernel fits", fresh),
                        (f" the sampler's last {engine.GP_PATH_MAX} fits retraced", path)):
        if ranks:
            f = sum(r >= TOP for r in ranks)
            out.append(f"Without the recorded fit,{kind}: {f} of {len(ranks)} "
                       f"({f / max(1, len(ranks)):.0%})")  # fmt: skip
    if misses:
        out.append("Outside the top 10 %: " + "; ".join(misses))
    if times:
        out.append(f"One replay: median {statistics.median(times) * 1e3:.0f} ms, "
                   f"max {max(times) * 1e3:.0f} ms (runs of {args.trials} trials)")  # fmt: skip
    if args.timing_trials:
        out += timing(method, args.timing_trials, folder)
    return out


def merge(path: Path, sections: dict[str, list[str]]) -> str:
    """The results file with each measured method's section replaced, the others (and the
    hand-written findings, a section headed "## Findings") kept."""
    titles = {**TITLES, "findings": "Findings"}
    old: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines() if path.exists() else []:
        if line.startswith("# TPE replay faithfulness"):  # the first version's heading
            line = "#" + line
        if line.startswith("## "):
            current = next((m for m, t in titles.items() if line[3:].startswith(t)), None)
        if current:
            old.setdefault(current, []).append(line)
    keep = {**old, **sections}
    return "\n\n".join("\n".join(keep[m]).strip() for m in titles if m in keep) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default="tpe,gp,cmaes")
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--models", default="knn,svm,random_forest")
    ap.add_argument("--datasets", default="iris,breast_cancer")
    ap.add_argument("--timing-trials", type=int, default=500)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/replay_faithfulness.txt"))
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sections = {}
    with tempfile.TemporaryDirectory() as tmp:
        for method in args.methods.split(","):
            sections[method] = section(method, args, Path(tmp))
            print("\n".join(sections[method]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(merge(args.out, sections))


if __name__ == "__main__":
    main()
