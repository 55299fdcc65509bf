"""Known answers for the warm start's "do the source's scores predict this run's?" interval.

Live monitor judges a warm-start source by Spearman's rank correlation between this run's
scores and the source's at the nearest configuration, with a 95 % interval (Fisher's z with
Bonett and Wright's standard error, tuning.runs.warmstart.rank_interval). A source is said to
agree or to run against only where that interval excludes 0, so the interval must hold the
true correlation about 95 % of the time at the trial counts the page shows it (8 and more).
Here pairs are drawn from a bivariate normal with Pearson correlation r, whose Spearman
correlation is known exactly, (6 / pi) asin(r / 2); printed: how often the interval holds it,
and how often a source with no link at all (r = 0) is called "agrees" or "runs against".

    python benchmarks/agreement_interval.py [--draws 4000]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuning.runs.warmstart import rank_interval  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=4000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'r':>6}{'spearman':>10}{'trials':>8}{'coverage':>10}{'called':>9}")
    for r in (0.0, 0.3, 0.6, 0.8, 0.95, -0.6):
        truth = (6 / math.pi) * math.asin(r / 2)
        for n in (8, 12, 20, 30):
            hit = called = 0
            for _ in range(args.draws):
                x = rng.standard_normal(n)
                y = r * x + math.sqrt(1 - r * r) * rng.standard_normal(n)
                rho = spearmanr(x, y).statistic
                low, high = rank_interval(float(rho), n)
                hit += low <= truth <= high
                called += low > 0 or high < 0
            print(f"{r:>6.2f}{truth:>10.3f}{n:>8}{hit / args.draws:>10.3f}{called / args.draws:>9.3f}")
    print("coverage: share of draws whose 95 % interval holds the true Spearman correlation; "
          "called: share said to agree or run against (at r = 0: the false alarms)")  # fmt: skip


if __name__ == "__main__":
    main()
