"""Plain-text output of the commands: tables, a run's summary, files written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from tuning.analysis.advisor import ADVISOR_ENDED
from tuning.core.errors import UserError
from tuning.core.scoring import Scoring
from tuning.runs.front import RunRecord, RunSummary, front_numbers, origin_count_line


def fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def format_table(header: list[str], rows: list[list[Any]]) -> str:
    """Left-aligned columns under a header and a rule of dashes."""
    cells = [header, *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_table(header: list[str], rows: list[list[Any]]) -> None:
    print(format_table(header, rows))


def format_summary(
    s: RunSummary, seconds: float | None = None, gain: tuple[str | None, ...] = (),
    warm: tuple[str, ...] = (),
) -> str:  # fmt: skip
    """A run's state, best CV score, test score and best hyperparameters (`run`, `show`);
    `gain`: the gain over the library defaults (the headline and test line of
    tuning.analysis.payoff), or why there is none; `warm`: what its warm start did."""
    if s.record is not None and s.record.foreign is not None:
        return _foreign_summary(s)
    lines = [
        "",
        f"Run:        {s.name}  [{s.status}]",
        f"Dataset:    {s.dataset}    model: {s.model}    method: {s.method}",
        f"Trials:     {s.done} done ("
        + ", ".join(f"{v} {k}" for k, v in sorted(s.counts.items()))
        + ")",
    ]
    chosen = s.record.recommendation if s.record is not None else None
    if chosen:
        lines.append(f"Why:        picked by Recommended: {chosen.get('reason', '')}")
    # A finished run's message is news only where the stop advisor ended it before its budget.
    if s.message and (s.status != "finished" or s.message.startswith(ADVISOR_ENDED)):
        lines.append(f"Note:       {s.message}")
    if s.best_value is None:
        lines.append("Best:       no trial completed")
    else:
        direction = "lower is better" if s.direction == "minimize" else "higher is better"
        scoring = Scoring(s.scoring).label if s.scoring else "score"
        std = f" ± {s.best_std:.4f}" if s.best_std is not None else ""
        lines.append(
            f"Best CV:    {scoring} = {s.best_value:.4f}{std}  (trial {s.best_number}, {direction})"
        )
        test = s.test.get("score")
        # A multi-objective run refits its chosen trade-off, not the best score.
        multi = s.record is not None and s.record.multi_objective
        refit = "chosen trade-off" if multi else "best configuration"
        if test is not None:
            lines.append(
                f"Test:       {scoring} = {test:.4f}  ({refit} refit on all "
                f"{s.test.get('n_train')} training rows, scored once on {s.test.get('n_test')} held-out rows)"
            )
        elif s.test.get("error"):
            lines.append(f"Test:       refit failed: {s.test['error']}")
        for i, text in enumerate(t for t in gain if t):
            lines.append(f"{'Defaults:' if i == 0 else '':<12}{text}")
        for i, text in enumerate(warm):
            lines.append(f"{'Warm start:' if i == 0 else '':<12}{text.removeprefix('Warm start: ')}")
        lines.append("Chosen hyperparameters:" if multi else "Best hyperparameters:")
        params = s.test.get("params") or s.best_params
        width = max(map(len, params), default=0)
        lines += [f"  {k:<{width}} = {fmt(v)}" for k, v in params.items()]
    if seconds is not None:
        lines.append(f"Time:       {seconds:.1f} s")
    elif s.elapsed_s:
        lines.append(f"Time:       {s.elapsed_s:.1f} s of tuning")
    lines.append(
        f"Open it:    optuna.load_study(study_name={s.name!r}, storage=...)  or  python -m tuning show {s.name}"
    )
    return "\n".join(lines)


def format_origins(df: Any, top: Any) -> str:
    """Where the trials came from: the count over every trial that ended, then the sentence of
    each top trial ("  12  Proposed by TPE, from the 11 trials finished by then.")."""
    if "origin_kind" not in df.columns or not len(top):
        return ""
    began = df[~df["state"].isin(("waiting", "running"))]
    lines = [f"\nTrials came from: {origin_count_line(began['origin_kind'].tolist())}."]
    width = len(str(int(top["number"].max())))
    lines += [f"  {int(r.number):>{width}}  {r.origin_text}" for r in top.itertuples()]
    return "\n".join(lines)


def _foreign_summary(s: RunSummary) -> str:
    """A study another tool made: what its trials say, and that the rest is not known."""
    lines = [
        "",
        f"Study:      {s.name}  [{s.status}]",
        "Made:       outside Tuning Studio (plain Optuna): read-only, no data, model, CV or test",
        f"Trials:     {s.done} done ("
        + ", ".join(f"{v} {k}" for k, v in sorted(s.counts.items()))
        + ")",
    ]
    if s.best_value is None:
        lines.append("Best:       no trial completed")
    else:
        direction = "lower is better" if s.direction == "minimize" else "higher is better"
        lines.append(
            f"Best:       {s.scoring} = {s.best_value:.6g}  (trial {s.best_number}, {direction})"
        )
        width = max(map(len, s.best_params), default=0)
        lines += ["Best parameters:"] + [
            f"  {k:<{width}} = {fmt(v)}" for k, v in s.best_params.items()
        ]
    return "\n".join(lines)


def format_tradeoff(study: optuna.Study) -> str:
    """A multi-objective run's objectives, the size of its Pareto front and the trade-off it
    refit, with why (`run`, `show`, `choose`)."""
    run = RunRecord.from_study(study)
    objectives = run.objectives
    names = ", ".join(f"{o.title} ({o.direction})" for o in objectives)
    front = front_numbers(study)
    lines = [
        f"Objectives: {names}",
        f"Front:      {len(front)} trial{'s' if len(front) != 1 else ''} that no other "
        f"complete trial beats on every objective: {', '.join(map(str, front[:20]))}"
        + (" ..." if len(front) > 20 else ""),
    ]
    if run.read_only:  # choosing refits and tests: not for a study another tool made
        return "\n".join(lines)
    choice = run.choice or {}
    if "trial" not in choice:
        lines.append("Chosen:     none yet (`python -m tuning choose RUN --within 1`)")
        return "\n".join(lines)
    lines.append(f"Chosen:     trial {choice['trial']}, {choice.get('rule', '')}")
    if choice.get("reason"):
        lines.append(f"            {choice['reason']}")
    test = run.test
    if test is not None and test.trial == choice["trial"] and test.score is not None:
        lines.append(
            f"Test:       {objectives[0].label[3:]} = {test.score:.4f} (refit on all "
            f"{test.n_train} training rows, scored once on {test.n_test} held-out rows)"
        )
    elif test is not None and test.error:
        lines.append(f"Test:       refit failed: {test.error}")
    return "\n".join(lines)


def write(path: Path, content: str | bytes) -> None:
    """Write a file the user named; a path that cannot be written is a UserError."""
    try:
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"Cannot write {path}: {exc.strerror or exc}.") from None
