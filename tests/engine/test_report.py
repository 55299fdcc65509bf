"""tuning.report and tuning.export on tiny real runs: self-contained HTML, escaping, downloads,
the reproduce script (run in a subprocess) and the `report` command."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from tuning import analysis as an
from tuning.cli import main
from tuning.core.config import DatasetRef, RunConfig
from tuning.core.space import SearchSpace
from tuning.models import get_model
from tuning.report import export
from tuning.report import html as report
from tuning.runs.prepare import prepare
from tuning.runs.runner import create_run, execute
from tuning.store.storage import open_storage

HOSTILE_TARGET = "<script>alert(1)</script>"
HOSTILE_FEATURE = "<img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    url = f"journal:///{folder / 'runs.journal'}"
    return url, open_storage(url), folder


def _run(store, config: RunConfig) -> optuna.Study:
    url, storage, _ = store
    name = create_run(config, storage)
    assert execute(name, storage) == "finished"
    return optuna.load_study(study_name=name, storage=storage)


@pytest.fixture(scope="module")
def iris_run(store):
    cfg = RunConfig(dataset=DatasetRef("iris"), model="knn", method="random", n_trials=8,
                    cv_folds=3, n_jobs=1, name="iris-knn")  # fmt: skip
    return _run(store, cfg)


@pytest.fixture(scope="module")
def hostile_run(store):
    """A CSV whose target and one feature column are named like script injections."""
    rng = np.random.default_rng(0)
    n = 80
    x = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "f2": rng.normal(size=n),  # a file starting with "<" is refused as HTML
            HOSTILE_FEATURE: x,
            "colour": rng.choice(["red", "blue"], size=n),
            HOSTILE_TARGET: np.where(x + rng.normal(scale=0.5, size=n) > 0, "yes", "no"),
        }
    )
    path = store[2] / "hostile.csv"
    df.to_csv(path, index=False)
    cfg = RunConfig(dataset=DatasetRef("csv", path=str(path), target=HOSTILE_TARGET), model="knn",
                    method="random", n_trials=6, cv_folds=3, n_jobs=1, name="hostile")  # fmt: skip
    return _run(store, cfg)


@pytest.fixture(scope="module")
def mlp_run(store):
    space = get_model("mlp").default_space("classification")
    space = space.replace_param("epochs", low=3, high=6).replace_param("width", low=8, high=32)
    cfg = RunConfig(dataset=DatasetRef("iris"), model="mlp", method="random", n_trials=2,
                    cv_folds=3, space=SearchSpace(space.params), name="iris-mlp")  # fmt: skip
    return _run(store, cfg)


def _script_score(tmp_path: Path, source: str) -> float:
    path = tmp_path / "reproduce.py"
    path.write_text(source)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=240,
                          cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    match = re.search(r"^test \S+ = (\S+)$", done.stdout, re.M)
    assert match, done.stdout
    return float(match.group(1))


# -- HTML report ------------------------------------------------------------------------------
def test_html_report_is_self_contained(iris_run):
    data = report.build_report(iris_run)
    text = report.report_html(data)
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    # No external resource, and no URL text at all (counts: a failing `in` on 5 MB is slow).
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.I)
    assert text.count("http://") == text.count("https://") == 0
    markup = re.sub(r"<script>.*?</script>", "", text, flags=re.S)  # the page without scripts
    assert not re.search(r"<link|@import|url\(|\bsrc\s*=|\bhref\s*=", markup, re.I)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    # plotly.js inlined exactly once (gzip + base64, unpacked in the browser); one newPlot per
    # figure; the whole file well under the 4.9 MB that the plain bundle made it
    bundle = report.plotly_js()
    packed = report.plotly_js_packed()
    assert len(bundle) > 1_000_000 and text.count(packed[:300]) == 1
    assert len(text.encode()) < 2_500_000
    assert "DecompressionStream" in text and text.count("plotlyTemplate=") == 1
    assert len(re.findall(r"<script\b", text)) == 1 + len(data.figures)
    assert text.count("Plotly.newPlot(") == len(data.figures) == len(report.plots.FIGURES)
    for section in ("Optimal hyperparameters", "Performance", "Top 10 configurations",
                    "Tuning efficiency", "Parameter impact", "Recommendations", "Configuration"):  # fmt: skip
        assert f"<h2>{section}</h2>" in text
    test = iris_run.user_attrs["test"]
    assert an.fmt_value(test["score"]) in text
    for name in test["params"]:
        assert f"<td>{name}</td>" in text
    # the app's words for the model, method and scoring, and no empty header cell
    assert "<th>Model</th><td>k-nearest neighbours</td>" in text
    assert "<th>Search method</th><td>Random search</td>" in text
    # the configuration in words: labels, no keys, no dict reprs outside the "as stored" block
    config = text.split("<h2>Configuration</h2>", 1)[1].split("<h3>Search space", 1)[0]
    assert "<th>Dataset</th><td>Iris</td>" in config
    assert "<th>Method</th><td>Random search</td>" in config
    assert "(knn)" not in config and "{" not in config and "options:" not in config
    assert "Grid points" not in config  # a random search has no grid
    assert "<th></th>" not in text and "<th> </th>" not in text


def test_configuration_rows_say_the_method_in_words():
    from tuning.methods.words import method_in_words, option_label

    words = method_in_words("tpe", {"n_startup_trials": 5, "constant_liar": True})
    assert words == "Bayesian (TPE), 5 random start-up trials, constant liar on"
    assert method_in_words("random") == "Random search"
    assert option_label("median", "n_startup_trials") == "Trials run to the end first"
    assert option_label("tpe", "some_new_option") == "Some new option"


def test_report_numbers_are_rounded():
    assert report.num(0.008148) == "0.00815" and report.num(0.008148, 2) == "0.0081"
    assert report.num(1.2784) == "1.28" and report.num(795.1) == "795"
    assert report.num(2.0) == "2" and report.num(7) == "7" and report.num(float("nan")) == ""
    assert report.num(1e-6) == "1e-06" and report.num("linear") == "linear"
    assert report.p_text(0.008148) == "0.0081" and report.p_text(0.0002) == "< 0.001"
    assert report.p_text(float("nan")) == "n/a"


def test_report_tables_show_rounded_numbers(iris_run):
    data = report.build_report(iris_run)
    top = report._top_table(data)
    for column in ("std", "seconds", "p vs best"):
        for v in top[column]:
            digits = re.sub(r"^[<\s0.]+", "", str(v)).replace(".", "")
            assert v in ("best", "n/a") or len(digits) <= 3, (column, v)
    md_text = report.report_markdown(data)
    lines = md_text.splitlines()
    headers = [a for a, b in zip(lines, lines[1:], strict=False) if b.startswith("|---")]
    assert "| item | value |" in headers and not any("|  |" in a for a in headers)
    assert "k-nearest neighbours" in md_text and "Random search" in md_text


def test_plotly_bundle_still_parses_as_javascript(tmp_path):
    import shutil

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    path = tmp_path / "plotly.js"
    path.write_text(report.plotly_js())
    done = subprocess.run([node, "--check", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[:2000]


def test_hostile_column_names_are_escaped(hostile_run):
    data = report.build_report(hostile_run)
    text = report.report_html(data)
    for raw in (HOSTILE_TARGET, HOSTILE_FEATURE, "<script>alert", "<img src"):
        assert text.count(raw) == 0, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # shown, as text
    # Only our own script elements: the bundle and one per figure.
    assert len(re.findall(r"<script\b", text)) == 1 + len(data.figures)
    md = report.report_markdown(data)
    assert HOSTILE_TARGET not in md and "<script" not in md and "&lt;script&gt;" in md


def test_markdown_report_has_every_section(iris_run):
    md = report.report_markdown(iris_run)
    for section in ("## Optimal hyperparameters", "## Performance", "## Top 10 configurations",
                    "## Tuning efficiency", "## Parameter impact", "## Recommendations",
                    "## Configuration"):  # fmt: skip
        assert section in md
    assert "```text" in md  # importance as text bars
    assert "| rank | trial |" in md


# -- downloads --------------------------------------------------------------------------------
def test_reproduce_script_prints_the_reported_test_score(iris_run, tmp_path):
    run = an.load_run(iris_run)
    source = export.reproduce_script(run)
    assert not re.search(r"^\s*(import tuning|from tuning)", source, re.M)
    compile(source, "reproduce.py", "exec")
    assert _script_score(tmp_path, source) == pytest.approx(run.test["score"], abs=1e-9)


def test_reproduce_script_reads_the_csv_the_same_way(hostile_run, tmp_path):
    run = an.load_run(hostile_run)
    source = export.reproduce_script(run)
    assert HOSTILE_TARGET in source  # as a Python string literal, never as code
    assert _script_score(tmp_path, source) == pytest.approx(run.test["score"], abs=1e-9)


def test_best_model_roundtrips_with_skops(iris_run):
    import skops.io as sio

    run = an.load_run(iris_run)
    model = export.best_model(iris_run, run)
    assert model.filename.endswith(".skops")
    pipe = sio.loads(model.data, trusted=sio.get_untrusted_types(data=model.data))
    prep = prepare(run.config)
    score = prep.scoring(pipe, prep.split.X_test, prep.split.y_test)
    assert score == pytest.approx(run.test["score"], abs=1e-12) == model.test_score


def test_mlp_exports(mlp_run, tmp_path):
    import skops.io as sio
    import torch

    from tuning.models.mlp import MLPEstimator

    run = an.load_run(mlp_run)
    model = export.best_model(mlp_run, run)
    assert model.filename.endswith("-mlp.zip")
    with zipfile.ZipFile(io.BytesIO(model.data)) as z:
        assert set(z.namelist()) == {"model.pt", "preprocessing.skops", "README.txt"}
        saved = torch.load(io.BytesIO(z.read("model.pt")), weights_only=True)
        raw = z.read("preprocessing.skops")
    prep_pipe = sio.loads(raw, trusted=sio.get_untrusted_types(data=raw))
    net = MLPEstimator.from_state(saved["state"], device="cpu")
    prep = prepare(run.config)
    score = prep.scoring(net, prep_pipe.transform(prep.split.X_test), prep.split.y_test)
    assert score == pytest.approx(model.test_score, abs=1e-9)

    source = export.reproduce_script(run)
    assert "import torch" in source and "tuning" not in re.sub(r'""".*?"""', "", source, flags=re.S)
    assert _script_score(tmp_path, source) == pytest.approx(run.test["score"], abs=0.05)


def test_the_reports_test_accuracy_carries_its_interval_and_its_times_read_as_times(iris_run):
    from tuning.runs import experiments as ex

    data = report.build_report(iris_run)
    md = report.report_markdown(data)
    t = data.run.test
    low, high = ex.wilson_interval(t["score"], t["n_test"])
    assert f"| Test accuracy | {t['score']:.4g} (95 % {low:.3f}–{high:.3f}; refit on all " in md
    started = datetime.fromisoformat(data.run.record.started_at).astimezone(UTC)
    assert f"| Started | {started:%Y-%m-%d %H:%M:%S} UTC |" in md and "+00:00" not in md


def test_the_report_says_whether_tuning_paid_off(iris_run):
    data = report.build_report(iris_run)
    md = report.report_markdown(data)
    assert md.index("## Did tuning pay off?") < md.index("## Optimal hyperparameters")
    gain = an.gain_over_defaults(data.run)
    headline = report.md(data.payoff.headline)
    assert f"**{headline}**" in md and headline.startswith(("Best CV accuracy", "Tuning did not"))
    assert "| Library defaults CV accuracy | " in md and "(trial 0) |" in md
    noise = "within" if gain.within_noise else "beyond"
    if gain.defaults_are_best or gain.ties_defaults:
        assert "| Gain (&gt; 0: tuning did better) | none: the best scores what the defaults " in md
    else:
        assert f"| Gain (&gt; 0: tuning did better) | {noise} fold-to-fold noise: " in md
    assert "| Held-out test | Held-out test accuracy (each refit on the same " in md
    assert re.search(r"\| 0 \| library defaults \|", md) or "| 1 | 0 | library defaults |" in md
    bought = md.split("**What the budget bought.** ")[1].split("\n")[0]
    assert bought == report.md(data.bought.message) and "over the library defaults" in bought
    html_text = report.report_html(data)
    assert "<h2>Did tuning pay off?</h2>" in html_text
    assert report.h(data.payoff.headline) in html_text
    assert "<td>library defaults</td>" in html_text


def test_a_report_without_baseline_makes_none_up(store):
    cfg = RunConfig(dataset=DatasetRef("iris"), model="knn", method="random", n_trials=3,
                    cv_folds=3, n_jobs=1, name="iris-no-baseline", defaults_baseline=False)  # fmt: skip
    md = report.report_markdown(_run(store, cfg))
    section = md.split("## Did tuning pay off?")[1].split("\n## ")[0]
    assert "baseline switched off" in section and "Gain" not in section
    assert "library defaults |" not in md.split("## Top 10 configurations")[1]


def test_trials_csv(iris_run):
    run = an.load_run(iris_run)
    df = pd.read_csv(io.StringIO(export.trials_csv(run)))
    assert len(df) == len(run.frame) and {"number", "state", "value", "fold_scores"} <= set(
        df.columns
    )
    run.frame.loc[0, "fail_reason"] = "=HYPERLINK(1)"
    assert "'=HYPERLINK(1)" in export.trials_csv(run)  # not a live formula in a spreadsheet


# -- command line -----------------------------------------------------------------------------
def test_report_command(iris_run, store, tmp_path, capsys):
    url = store[0]
    out = tmp_path / "r.md"
    script, csv = tmp_path / "s.py", tmp_path / "t.csv"
    assert main(["report", "iris-knn", "-o", str(out), "--storage", url, "--script", str(script),
                 "--csv", str(csv)]) == 0  # fmt: skip
    assert out.read_text().startswith("# Tuning report: iris-knn")
    assert script.read_text().startswith('"""Rebuild the best model')
    assert len(pd.read_csv(csv)) == 8
    html_out = tmp_path / "r.html"
    assert main(["report", "iris-knn", "-o", str(html_out), "--storage", url]) == 0
    assert html_out.read_text().startswith("<!DOCTYPE html>")
    assert main(["report", "no-such-run", "--storage", url]) == 2
    assert "No run named" in capsys.readouterr().err


def test_refit_top_on_test_fills_the_overfitting_view(iris_run):
    scores = an.refit_top_on_test(iris_run, n=3)
    run = an.load_run(iris_run)
    best = int(run.best["number"])
    assert len(scores) == 3 and scores[best] == pytest.approx(run.test["score"], abs=1e-12)
    view = an.overfitting(run)
    assert view["test"].head(3).notna().all() and view["test"].iloc[3:].isna().all()


def test_markdown_escape_keeps_user_strings_literal():
    # Emphasis, links, table pipes, code and $…$ math would all change what a reader sees.
    assert report.md("a|b *c* [d](e) `f` $x$ <g>") == (r"a\|b \*c\* \[d\](e) \`f\` \$x\$ &lt;g&gt;")
