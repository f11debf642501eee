"""docs/results.md is generated (`python -m core results`) from the stored analyses: the committed file is what the
command writes now, its figures are the CLI's for the same stored analysis, and `--check` catches a stale copy.

Only the shipped analyses are read: the cache is an empty folder and the data root an empty one, as on a fresh
clone with no ../shared datasets."""
from __future__ import annotations

import json

import pytest

from core.analysis.position import describe_fit
from core.tools import results
from core.tools.cli import main

FIX = "run `python -m core results` and commit docs/results.md"


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """An empty cache and an empty data root: only what the repository ships can be read."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SENTIMENT_CACHE_DIR", str(tmp_path_factory.mktemp("empty-cache")))
    mp.setenv("SENTIMENT_DATA_ROOT", str(tmp_path_factory.mktemp("no-data")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def generated(bare) -> str:
    return results.generate()


def _cli_json(capsys, *argv: str) -> dict | list:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _section(text: str, model: str) -> str:
    """One model's part of "Each RNN's analyses"."""
    body = text[text.index("## Each RNN's analyses"):]
    start = body.index(f"### `{model}`\n")
    end = body.find("\n### ", start + 1)
    return body[start: end if end > 0 else len(body)]


def test_the_committed_results_are_what_the_command_writes_now(generated):
    committed = results.DEFAULT_OUT.read_text(encoding="utf-8") if results.DEFAULT_OUT.exists() else None
    assert committed is not None, f"docs/results.md is missing: {FIX}"
    assert committed == generated, f"docs/results.md is out of date with the stored analyses: {FIX}"


def test_generation_is_deterministic(generated):
    assert results.generate() == generated


def test_a_modifier_figure_is_the_clis(generated, capsys):
    """Known answer: toy-gru's strongest modifier as `python -m core modifiers toy-gru --json` gives it appears in
    the document's toy-gru table row, in the CLI's own format (M(1) = 1 + strength and its interval to 2
    decimals), with the screen's valence correlation."""
    res = _cli_json(capsys, "modifiers", "toy-gru")
    m = res["modifiers"][0]
    lo, hi = m["strength_ci"]
    row = f"| 1 | {m['word']} | {m['class']} | {m['strength'] + 1:.2f} [{lo + 1:.2f}, {hi + 1:.2f}] |"
    assert row in _section(generated, "toy-gru")
    assert f"valence-free statistic: {res['screen']['v0_statistic_spearman']:+.2f}" in _section(generated, "toy-gru")


def test_dynamics_and_position_figures_are_the_clis(generated, capsys):
    dyn = _cli_json(capsys, "analyze", "toy-gru")
    part = _section(generated, "toy-gru")
    assert f"- {dyn['n_fixed_points']:,} fixed points ({dyn['n_stable_fixed_points']:,} stable)" in part
    assert f"at readout {dyn['reference_readout']:+.3f}, |lambda_1| = {dyn['lambda1_reference']:.4f}" in part
    pos = _cli_json(capsys, "position", "imdb-gru")
    assert f"- end: {describe_fit(pos['end'])}; curve " in _section(generated, "imdb-gru")


def test_the_architecture_tables_are_the_universality_commands(generated, capsys):
    """The universality blocks are the command's own text output, line for line."""
    for data in results.UNIVERSALITY_DATA:
        capsys.readouterr()
        assert main(["universality", "--data", data]) == 0
        printed = capsys.readouterr().out.rstrip("\n")
        assert f"$ python -m core universality --data {data}\n{printed}\n```" in generated


def test_a_comparison_row_is_the_clis(generated, capsys):
    """`compare --json` answers from the shipped comparison (no dataset here) with the figures the document has."""
    res = _cli_json(capsys, "compare", "--rnn", "sst2-gru", "--data", "sst2:test")
    full = next(v for v in res["variants"] if v["name"] == "full")
    part = generated[generated.index("### `sst2-gru` on sst2:test"):]
    lo, hi = full["gap_ci"]
    assert f"| full | {full['accuracy']:.2%} | {full['gap_recovered']:.1%} | [{lo:.1%}, {hi:.1%}] |" \
        in part[:part.index("\n### ")]


def test_a_gap_without_a_gain_is_marked_not_meaningful(generated):
    """Where the RNN does not clearly beat the BoW (sst2-vanilla: +0.27 points, interval through 0), the stored
    comparison says not meaningful, and so does the document."""
    part = generated[generated.index("### `sst2-vanilla` on sst2:test"):]
    part = part[:part.index("\n### ")]
    assert "**Not meaningful:**" in part and "(not meaningful)" in part


def test_check_fails_on_a_stale_copy_and_passes_on_a_fresh_one(bare, tmp_path, capsys):
    out = tmp_path / "results.md"
    assert main(["results", "--check", "--out", str(out)]) == 1           # missing
    assert "python -m core results" in capsys.readouterr().err
    assert main(["results", "--out", str(out)]) == 0                      # written
    assert main(["results", "--check", "--out", str(out)]) == 0           # up to date
    out.write_text(out.read_text(encoding="utf-8").replace("| 1 | not |", "| 1 | nót |", 1), encoding="utf-8")
    capsys.readouterr()
    assert main(["results", "--check", "--out", str(out)]) == 1           # stale
    err = capsys.readouterr().err
    assert "out of date" in err and "python -m core results" in err
