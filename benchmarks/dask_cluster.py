"""Issue 18: a run on a local Dask cluster of 2 worker processes against the studio's own 2
local worker processes: trials per second (target ratio >= 0.9) and per-trial overhead.

The objective is benchmarks/workers.py's: a 40-tree random forest (one thread per fit) on the
2000x50 synthetic benchmark, 2-fold CV, about 0.5 s a trial. Each contender works on a fresh run
of the same configuration in its own journal file; on the cluster the trials go through the
scheduler (Optuna's DaskStorage) into that file, as for a cluster that reaches no database.
The cluster (distributed.LocalCluster, processes, 1 thread per worker) is started once and kept,
as a cluster is, with Dask's defaults; contenders alternate, --repeats times; medians.
--no-profile turns off Dask's statistical profiler on the workers (it samples every thread's
stack 100 times a second), to see what it costs. Note the scheduler runs in this process, on
the same cores as the workers: every storage call of the cluster's trials goes through it.

Rate: completed trials per second from the first trial's start to the last one's end (process
start-up and imports excluded for both). Overhead per trial: each worker's time per trial
(2 x span / trials) minus the mean time the trial spent fitting and scoring.

    python benchmarks/dask_cluster.py [--trials 24] [--repeats 5] [--no-profile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workers import fresh  # noqa: E402  (the same objective and run as benchmarks/workers.py)

from tuning.runs.cluster import ClusterPool  # noqa: E402
from tuning.runs.runner import execute  # noqa: E402
from tuning.runs.workers import WorkerPool  # noqa: E402
from tuning.store.runs import load_study  # noqa: E402
from tuning.store.storage import open_storage  # noqa: E402

WORKERS = 2


def local(n_trials: int) -> dict:
    url, name = fresh(n_trials)
    pool = WorkerPool(name, url, WORKERS).start()
    pool.join()
    return measure(url, name)


def on_cluster(address: str, n_trials: int) -> dict:
    url, name = fresh(n_trials)
    store = open_storage(url)
    pool = ClusterPool(name, store, url, WORKERS, address, execute).start()
    pool.join()
    assert pool.error is None, pool.error
    return measure(url, name)


def measure(url: str, name: str) -> dict:
    trials = [
        t for t in load_study(name, url).get_trials(deepcopy=False) if t.state.name == "COMPLETE"
    ]
    start = min(t.datetime_start for t in trials)
    end = max(t.datetime_complete for t in trials)
    span = (end - start).total_seconds()
    work = statistics.mean(
        t.user_attrs["metrics"]["fit_seconds"] + t.user_attrs["metrics"]["score_seconds"]
        for t in trials
    )
    workers = {t.user_attrs["metrics"]["worker"] for t in trials}
    return {
        "rate": len(trials) / span,
        "overhead": WORKERS * span / len(trials) - work,
        "work": work,
        "n": len(trials),
        "workers": len(workers),
    }


def main() -> None:
    import dask
    from distributed import LocalCluster

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-profile", action="store_true", help="turn Dask's worker profiler off")
    args = ap.parse_args()
    print(f"Dask worker profiler: {'off' if args.no_profile else 'on'}", flush=True)
    rows: dict[str, list[dict]] = {"local": [], "dask": []}
    with (
        dask.config.set({"distributed.worker.profile.enabled": not args.no_profile}),
        LocalCluster(
            n_workers=WORKERS, processes=True, threads_per_worker=1, dashboard_address=None
        ) as lc,
    ):
        for r in range(args.repeats):
            rows["local"].append(local(args.trials))
            rows["dask"].append(on_cluster(lc.scheduler_address, args.trials))
            lo, da = rows["local"][-1], rows["dask"][-1]
            print(
                f"repeat {r}: local 2 processes {lo['rate']:.2f}/s "
                f"(overhead {lo['overhead'] * 1000:.0f} ms/trial, {lo['n']} trials, "
                f"{lo['workers']} workers) | Dask 2 workers {da['rate']:.2f}/s (overhead "
                f"{da['overhead'] * 1000:.0f} ms/trial, {da['n']} trials, {da['workers']} workers)",
                flush=True,
            )

    def med(kind: str, key: str) -> float:
        return statistics.median(x[key] for x in rows[kind])

    print(f"\nfit + score seconds per trial (median of means): local {med('local', 'work'):.2f}, "
          f"Dask {med('dask', 'work'):.2f}")  # fmt: skip
    print(f"median trials/s: local 2 processes {med('local', 'rate'):.2f}, "
          f"Dask 2 workers {med('dask', 'rate'):.2f}")  # fmt: skip
    print(f"median overhead per trial: local {med('local', 'overhead') * 1000:.0f} ms, "
          f"Dask {med('dask', 'overhead') * 1000:.0f} ms")  # fmt: skip
    ratios = [d["rate"] / lo["rate"] for d, lo in zip(rows["dask"], rows["local"], strict=True)]
    print(f"ratio Dask / local: {statistics.median(ratios):.2f} (median of paired repeats: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}), {med('dask', 'rate') / med('local', 'rate'):.2f} "
          "(ratio of the medians)  (target >= 0.9)")  # fmt: skip


if __name__ == "__main__":
    main()
