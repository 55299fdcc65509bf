"""Commands that read or remove stored runs: list, show, delete, report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tuning.cli import options as o
from tuning.cli.command import Command
from tuning.cli.output import (
    fmt,
    format_origins,
    format_summary,
    format_tradeoff,
    print_table,
    write,
)
from tuning.core.errors import UserError
from tuning.runs import front


class List(Command):
    name = "list"
    help = "list stored runs with their status"
    description = "List every stored run."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        o.STORAGE.add_to(parser)

    def run(self, args: argparse.Namespace) -> int:
        runs = front.list_runs(front.open_storage(args.storage))
        if not runs:
            print(
                f"No runs yet in {front.describe_storage(args.storage)}. "
                "Start one with `python -m tuning run ...`."
            )
            return 0
        rows = [
            [r.name, r.status, r.dataset, r.model, r.method, f"{r.done}/{r.n_trials or '-'}",
             "-" if r.best_value is None else f"{r.best_value:.4f}", r.scoring,
             (r.created_at or "")[:19]]
            for r in runs
        ]  # fmt: skip
        header = ["run", "status", "dataset", "model", "method", "trials", "best", "scoring",
                  "created (UTC)"]  # fmt: skip
        print_table(header, rows)
        return 0


class Show(Command):
    name = "show"
    help = "show a run's summary and top trials"
    description = "Show one run."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        o.RUN.add_to(parser)
        parser.add_argument(
            "--top", type=o.positive_int, default=10, help="how many top trials (default 10)"
        )
        o.STORAGE.add_to(parser)

    def run(self, args: argparse.Namespace) -> int:
        from tuning import analysis as an

        store = front.open_storage(args.storage)
        study = front.StoredRun.open(args.run, store).study
        s = front.run_summary(store, args.run)
        run = an.load_run(study)
        p = an.payoff(run)  # the gain over the defaults (provisional while the run works)
        said = (p.headline, p.test_line)
        print(format_summary(s, gain=said, warm=_warm_lines(s.record, run, store)))
        if len(study.directions) > 1:
            print(format_tradeoff(study))
        df = run.frame
        top = front.top_trials(df, s.direction, args.top)
        if top.empty:
            return 0
        params = [c for c in df.columns if c.startswith("param_")]
        print(f"\nTop {len(top)} trials:")
        rows = [
            [f"{int(r.number)}{'*' if getattr(r, 'origin', None) == front.LIBRARY_DEFAULTS else ''}",
             f"{r.value:.4f}", "-" if r.cv_std is None else f"{r.cv_std:.4f}",
             f"{r.duration_s:.1f}" if r.duration_s == r.duration_s else "-"]
            + [fmt(getattr(r, p)) for p in params]
            for r in top.itertuples()
        ]  # fmt: skip
        head = ["trial", "cv mean", "cv std", "seconds"]
        if s.record is not None and s.record.read_only:  # its values: no CV, no spread
            head = ["trial", s.scoring, "seconds"]
            rows = [r[:1] + [f"{float(r[1]):.6g}"] + r[3:] for r in rows]
        print_table([*head, *[p[6:] for p in params]], rows)
        if any(str(r[0]).endswith("*") for r in rows):
            print("* the library defaults (the run's baseline)")
        if origins := format_origins(df, top):
            print(origins)
        return 0


def _warm_lines(record, run, store) -> tuple[str, ...]:
    """A warm-started run's warm start, and whether each source's scores predict its own."""
    from tuning.analysis import warm

    line = warm.warm_start_line(record, run.frame) if record is not None else None
    if line is None:
        return ()
    seen = warm.source_agreements(record, run.trials, warm.source_trials(record, store))
    return (line, *(a.sentence for a in seen))


class Delete(Command):
    name = "delete"
    help = "delete a run"
    description = "Delete a run and its trials."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        o.RUN.add_to(parser)
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        o.STORAGE.add_to(parser)

    def run(self, args: argparse.Namespace) -> int:
        store = front.open_storage(args.storage)
        front.StoredRun.open(args.run, store)  # a clear error when there is no such run
        if not args.yes:
            if not sys.stdin.isatty():
                raise UserError("Deleting needs confirmation: pass --yes.")
            if input(f"Delete run '{args.run}' and all its trials? [y/N] ").strip().lower() != "y":
                print("Nothing deleted.")
                return 0
        front.delete_run(args.run, store)
        print(f"Deleted run '{args.run}'.")
        return 0


class Report(Command):
    name = "report"
    help = "write a run's report (HTML or Markdown), and optionally its downloads"
    description = (
        "Write a run's report: one self-contained HTML file (opens offline) or Markdown, with the "
        "best hyperparameters, CV and test scores, top 10, efficiency, parameter impact, "
        "recommendations and configuration."
    )
    epilog = (
        "Example: python -m tuning report my-run -o report.html --model best.skops "
        "--script reproduce.py"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add = parser.add_argument
        o.RUN.add_to(parser)
        add(
            "-o", "--output", type=Path, metavar="FILE",
            help="report file (default RUN-report.html or .md)",
        )  # fmt: skip
        add(
            "--format", choices=("html", "md"),
            help="html or md (default: from the file extension, else html)",
        )  # fmt: skip
        add(
            "--importance", choices=("ped_anova", "fanova", "mdi"),
            help="importance method (default: the one the pages show first; fanova is slow, "
            "capped at 200 trials)",
        )  # fmt: skip
        add(
            "--model", type=Path, metavar="FILE",
            help="also refit the best model and save it (skops; a zip for the MLP)",
        )  # fmt: skip
        add(
            "--script", type=Path, metavar="FILE.py",
            help="also write a Python script that rebuilds the best model",
        )  # fmt: skip
        add("--csv", type=Path, metavar="FILE.csv", help="also write all trials as CSV")
        o.STORAGE.add_to(parser)

    def run(self, args: argparse.Namespace) -> int:
        from tuning.analysis import DEFAULT_METHOD, load_run, warm
        from tuning.report import export
        from tuning.report import html as report

        store = front.open_storage(args.storage)
        study = front.StoredRun.open(args.run, store).study
        run = load_run(study)
        if run.record.read_only and (args.script or args.model):
            raise UserError(front.needs_config("--script and --model", plural=True))
        ext = args.output.suffix.lower() if args.output else ""
        file_format = args.format or ("md" if ext in (".md", ".markdown") else "html")
        out = args.output or Path(f"{run.name}-report.{file_format}")
        data = report.build_report(
            study, run, importance_method=args.importance or DEFAULT_METHOD,
            figures=file_format == "html", sources=warm.source_trials(run.record, store),
        )  # fmt: skip
        write(
            out, report.report_html(data) if file_format == "html" else report.report_markdown(data)
        )
        print(f"Report written to {out}")
        if args.csv:
            write(args.csv, export.trials_csv(run))
            print(f"All trials written to {args.csv}")
        if args.script:
            write(args.script, export.reproduce_script(run))
            print(f"Reproduce script written to {args.script} (run it with python {args.script})")
        if args.model:
            model = export.best_model(study, run)
            write(args.model, model.data)
            kind = (
                "zip of the torch state dict and the preprocessing"
                if model.filename.endswith(".zip")
                else "skops"
            )
            print(
                f"Best model ({kind}) written to {args.model}; refit test score {model.test_score!r}"
            )
        return 0
