"""Record the classic race: real runs of the studio engine, kept as a small journal storage
that the Compare page opens at once (read-only) beside "Run it live".

Runs the Compare page's classic preset (random forest on the 2000 x 50 synthetic benchmark,
5-fold CV; grid search over its 81 configurations, random search, TPE and Hyperband with 30
trials each over the grid's box) through `tuning.runs.experiments`, exactly as the page runs
it live, on a fresh journal file. By default with 2 seeds (the live race has 3) so that the
recording takes minutes, not twenty; say otherwise with --seeds. Then it writes the
recording's metadata beside the journal (same name, .json): date, machine, cores, seeds,
trials per method, wall time, library versions.

    python scripts/record_classic_race.py [--seeds 0 1] [--workers 2] [--out tuning/data/recorded]

A recording kept before experiments stored their de-noised level (grid's best configuration
scored again with 5 model seeds, which time-to-target races to) gets it without running the
race again:

    python scripts/record_classic_race.py --add-level tuning/data/recorded/classic_race.journal
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import optuna  # noqa: E402
import sklearn  # noqa: E402

from tuning.runs import experiments as ex  # noqa: E402
from tuning.store.storage import open_storage  # noqa: E402

NAME = "classic-race-recorded"


def record(out: Path, seeds: tuple[int, ...], workers: int) -> dict:
    """Run the classic preset on a fresh journal in a temporary folder, then move the journal
    and its metadata to `out`. Returns the metadata."""
    tmp = Path(tempfile.mkdtemp(prefix="classic-race-"))
    journal = tmp / ex.RECORDED_JOURNAL
    store = open_storage(f"journal:///{journal}")
    config = replace(ex.classic_preset(seeds=seeds, workers=workers), name=NAME)
    name = ex.create_experiment(config, store)
    started = time.perf_counter()
    statuses = ex.run_experiment(name, store)
    wall = time.perf_counter() - started
    unfinished = {r: s for r, s in statuses.items() if s != "finished"}
    if unfinished:
        raise SystemExit(f"Not every run finished, nothing recorded: {unfinished}")
    meta = {
        "experiment": name,
        "recorded_on": datetime.now(UTC).strftime("%Y-%m-%d"),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{socket.gethostname()} ({platform.machine()}, {platform.system()})",
        "cores": os.cpu_count(),
        "seeds": list(seeds),
        "methods": list(config.methods),
        "trials_per_method": config.base.n_trials,
        "grid_configurations": ex.classic_space().grid_size(config.base.grid_points),
        "workers_per_method": workers,
        "wall_seconds": round(wall, 1),
        "load_average_at_end": [round(x, 1) for x in os.getloadavg()],  # 1, 5, 15 minutes
        "versions": {"python": platform.python_version(), "optuna": optuna.__version__,
                     "scikit-learn": sklearn.__version__},  # fmt: skip
        "script": "scripts/record_classic_race.py",
    }
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(journal, out / ex.RECORDED_JOURNAL)
    (out / ex.RECORDED_META).write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return meta


def add_level(journal: Path, experiment: str | None = None, force: bool = False) -> dict:
    """Score and keep the de-noised level of each finished grid member of the experiments in
    an existing `journal` (only `experiment`, if named), in place; `force` scores again where a
    level is kept already. Returns experiment -> seed -> level."""
    if not journal.is_file():
        raise SystemExit(f"No journal at {journal}: give the path of a recorded race's journal.")
    store = open_storage(f"journal:///{journal.resolve()}")
    names = [experiment] if experiment else [e.name for e in ex.list_experiments(store)]
    if not names:
        raise SystemExit(f"{journal} holds no experiment: there is no grid member to score.")
    return {name: ex.add_levels(name, store, force) for name in names}


def _print_levels(done: dict) -> None:
    for name, levels in done.items():
        if not levels:
            print(f"{name}: nothing to score (no finished grid member without a level)")
        for seed, lv in sorted(levels.items()):
            spread = f" ± {lv.std:.4f}" if lv.std is not None else ""
            print(f"{name} seed {seed}: {lv.status}: level {lv.mean:.4f}{spread} over model seeds "
                  f"{lv.model_seeds or '-'} (grid's own best {lv.own:.4f})"
                  + (f"; {lv.error}" if lv.error else ""))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--workers", type=int, default=2, help="worker processes per method")
    parser.add_argument("--out", type=Path, default=ex.RECORDED_DIR)
    parser.add_argument(
        "--add-level",
        type=Path,
        metavar="JOURNAL",
        help="add the de-noised level to an existing recording instead",
    )
    parser.add_argument("--experiment", help="with --add-level: only this experiment")
    parser.add_argument("--force", action="store_true", help="with --add-level: score again")
    args = parser.parse_args(argv)
    if args.add_level is not None:
        _print_levels(add_level(args.add_level, args.experiment, args.force))
        return 0
    meta = record(args.out, tuple(args.seeds), args.workers)
    size = (args.out / ex.RECORDED_JOURNAL).stat().st_size
    print(json.dumps(meta, indent=2))
    print(f"{args.out / ex.RECORDED_JOURNAL}: {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
