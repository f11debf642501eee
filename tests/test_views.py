"""core.analysis.views, the reductions between the analyses and what the pages show, on hand-made inputs with
known answers (and once on a shipped model's stored analyses)."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from core.analysis import views as V
from core.analysis.settings import COMPARE_VERSION, MODIFIERS_VERSION, SOLVER_VERSION
from core.data.text import PAD, UNK, Vocab
from core.models.store import MODELS_DIR, list_models
from core.storage.cache import SHIPPED_DIR


def _dynamics(points, slow_points, readout, slow_readout, lambda1, slow_lambda1, scale, r1, ref=0):
    """A dynamics result with only the fields dynamics_view reads."""
    t = lambda x: torch.tensor(x, dtype=torch.float64)
    return {"points": t(points), "slow_points": t(slow_points).reshape(-1, len(points[0])),
            "readout": t(readout), "slow_readout": t(slow_readout), "lambda1": t(lambda1),
            "slow_lambda1": t(slow_lambda1), "slow_q": t([1e-7] * len(slow_points)), "state_scale": t(scale),
            "ref_eigvals": t([[0.5, 0.0]]), "r1": t(r1),
            "summary": {"stable_tolerance": 1e-3, "reference_index": ref}}


def test_dynamics_view_puts_the_attractor_on_its_plane_with_pc1_along_the_readout():
    """Three points on the x axis (one slow), readout w = -x: PC1 must grow with the readout, so it points to
    -x; coordinates are divided by the state scale (2) and centred."""
    res = _dynamics(points=[[2.0, 0.0], [0.0, 0.0]], slow_points=[[-2.0, 0.0]], readout=[-2.0, 0.0],
                    slow_readout=[2.0], lambda1=[0.999, 1.2], slow_lambda1=[1.0005], scale=[2.0, 2.0],
                    r1=[[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]], ref=1)
    view = V.dynamics_view(res, MODELS_DIR / "toy-gru", w=torch.tensor([-1.0, 0.0], dtype=torch.float64))
    assert np.allclose(view["pc"][:, 0], [-1.0, 0.0, 1.0]) and np.allclose(view["pc"][:, 1], 0.0)
    assert view["kind"] == ["fixed point", "fixed point", "slow point"] and view["index"] == [0, 1, 0]
    assert view["stable"].tolist() == [True, False, True]          # |λ₁| ≤ 1 + 1e-3
    assert view["reference"] == 1 and view["readout"].tolist() == [-2.0, 0.0, 2.0]
    assert math.isnan(view["q"][0]) and view["q"][2] == pytest.approx(1e-7)
    assert view["reach_warnings"] == []                            # w . r_1 = -1: the mode reaches the readout
    blind = V.dynamics_view(res, MODELS_DIR / "toy-gru", w=torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert len(blind["reach_warnings"]) == 1                       # w . r_1 = 0


def test_slowest_modes_give_timescales_growth_times_and_infinity():
    modes = V.slowest_modes(np.array([[1.0, 0.0], [0.5, 0.0], [1.1, 0.0], [0.0, 0.5], [0.1, 0.0]]), 4)
    assert [m["mode"] for m in modes] == [0, 1, 2, 3]              # only the first n
    assert modes[0]["tokens"] == math.inf and modes[0]["kind"] == "stable: timescale τ"
    assert modes[1]["tokens"] == pytest.approx(-1 / math.log(0.5))
    assert modes[2]["tokens"] == pytest.approx(1 / math.log(1.1)) and modes[2]["kind"] == "unstable: growth time"
    assert modes[3]["|λ|"] == pytest.approx(0.5) and modes[3]["tokens"] == pytest.approx(-1 / math.log(0.5))


def _engine():
    """A stand-in ContextEngine: 3 points (the last slow), a projection that keeps the first two coordinates, a
    readout y = h_0 + h_1, and run() that adds each token id to both coordinates from h = 0."""
    vocab = Vocab([PAD, UNK, "good", "bad"])

    def run(ids):
        steps = torch.tensor([[0.0, 0.0]] + [[float(i), float(i)] for i in ids], dtype=torch.float64)
        return steps.cumsum(0)

    return SimpleNamespace(points=torch.tensor([[0.0, 1.0, 9.0], [2.0, 3.0, 9.0], [4.0, 5.0, 9.0]]),
                           readout_fp=torch.tensor([-1.0, 0.0, 1.0]), summary={"n_slow_points": 1}, ref=1,
                           vocab=vocab, project=lambda h: h[:, :2], run=run, y=lambda h: h.sum(1))


def test_attractor_points_and_trajectory_on_a_designed_engine():
    pts = V.attractor_points(_engine())
    assert pts["pc"].tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert pts["kind"] == ["fixed point", "fixed point", "slow point"] and pts["reference"] == 1
    assert pts["readout"].tolist() == [-1.0, 0.0, 1.0]
    assert pts["n_points"] == 3
    path = V.trajectory(_engine(), ["good", "bad", "zzz"])      # ids 2, 3 and <unk> = 1
    assert path["token"] == ["(start)", "good", "bad", "zzz"]
    assert path["pc"].tolist() == [[0, 0], [2, 2], [5, 5], [6, 6]]
    assert path["readout"].tolist() == [0, 4, 10, 12]


def test_attractor_points_thinned_keep_one_point_per_cell_and_kind_and_the_reference():
    """Worked by hand on a 2 x 2 grid over the range 0..4 (cells 2 wide): rows 0 and 1 share the cell (0, 0) and
    kind, so only row 0 is drawn; row 2 (the reference) shares it too and is kept all the same; row 3 is alone in
    (1, 1); row 4 shares (1, 1) but is a slow point, so it stays; row 5 duplicates it and goes."""
    pts = [[0.0, 0.0], [0.5, 0.5], [1.0, 1.0], [4.0, 4.0], [3.9, 3.9], [3.8, 3.8]]
    eng = SimpleNamespace(points=torch.tensor(pts, dtype=torch.float64), project=lambda h: h,
                          readout_fp=torch.arange(6.0), summary={"n_slow_points": 2}, ref=2)
    thin = V.attractor_points(eng, cells=2)
    assert thin["pc"].tolist() == [pts[0], pts[2], pts[3], pts[4]] and thin["readout"].tolist() == [0, 2, 3, 4]
    assert thin["kind"] == ["fixed point", "fixed point", "fixed point", "slow point"]
    assert thin["reference"] == 1 and thin["n_points"] == 6
    assert V.attractor_points(eng)["pc"].tolist() == pts        # None: every point


@pytest.mark.parametrize("m, cls", [(None, None), (-0.3, V.FLIPPED), (0.0, V.ATTENUATED), (0.79, V.ATTENUATED),
                                    (0.8, V.ABOUT_ONE), (1.0, V.ABOUT_ONE), (1.2, V.ABOUT_ONE), (1.21, V.AMPLIFIED)])
def test_modulation_classes(m, cls):
    assert V.modulation_class(m) == cls


def test_agreement_flips_and_the_toy_rules():
    assert V.agrees(1.0, 1.4) and V.agrees(-1.0, -0.8)
    assert not V.agrees(1.0, -1.0) and not V.agrees(0.2, 1.0)       # other sign; apart by more than half
    assert V.agrees(0.6, 1.0, tol=0.4) and not V.agrees(0.59, 1.0, tol=0.4)
    assert V.toy_rule_factor("not good") == -1 and V.toy_rule_factor("very good") == 2
    assert V.toy_rule_factor("good") == 1
    assert V.flip_reach([1, 2, 3, 4], [-1.0, -0.2, None, 0.5]) == 2
    assert V.flip_reach([1, 2], [0.5, float("nan")]) == 0


def test_vocabulary_splits():
    vocab = Vocab([PAD, UNK, "good", "film"])
    assert V.unknown_tokens("A good film, zzz good", vocab) == [",", "a", "zzz"]
    assert V.split_known(("zzz", "good", "film", "qq"), vocab) == (("good", "film"), ["zzz", "qq"])


def test_fit_curve_only_where_the_fit_describes_the_curve():
    good = {"asymptote": 0.25, "amplitude": 0.5, "timescale": 2.0, "fit_r2": 0.9, "varies": True, "curve": [0.75, 0.4]}
    assert np.allclose(V.fit_curve(good, np.array([0, 2])), [0.75, 0.25 + 0.5 / math.e])
    assert np.isnan(V.fit_curve({**good, "fit_r2": 0.1}, np.arange(3))).all()
    flat = {**good, "varies": False, "amplitude": None, "timescale": None, "fit_r2": None}
    assert np.isnan(V.fit_curve(flat, np.arange(3))).all()            # flat within noise: no fitted curve


def test_modifier_points():
    res = {"modifiers": [{"word": "not", "class": "negator", "strength": -1.5, "pc": [0.1, -0.2], "v0": 0.0}]}
    assert V.modifier_points(res) == [{"word": "not", "class": "negator", "strength": -1.5, "PC1": 0.1, "PC2": -0.2}]
    assert V.modifier_points(None) == []


def test_comparison_choices_by_role():
    models = [{"name": "r", "kind": "rnn"}, {"name": "b", "kind": "bow"}, {"name": "g", "kind": "bigram"},
              {"name": "a", "kind": "augmented"}]
    assert V.comparison_choices(models) == {"bow": ["b", "g"], "aug": ["a"]}


def test_comparison_runs_and_versions():
    full = {"settings": {"variants": ["bow", "full", "extra"], "top": 100}}
    other_k = {"settings": {"variants": ["mod_fixed", "full"], "top": 10}}
    partial = {"settings": {"variants": ["bow"], "top": 100}}
    assert V.comparison_runs([full, other_k, partial], ("bow", "full"), 100) == ([full], [full, other_k])
    now = {"solver": SOLVER_VERSION, "modifiers": MODIFIERS_VERSION, "version": COMPARE_VERSION}
    assert V.stale_versions(now) is None
    assert V.stale_versions(dict(now, solver=SOLVER_VERSION - 1)) == {
        "solver": SOLVER_VERSION - 1, "modifiers": MODIFIERS_VERSION, "compare": COMPARE_VERSION,
        "solver_now": SOLVER_VERSION, "modifiers_now": MODIFIERS_VERSION, "compare_now": COMPARE_VERSION}
    assert V.stale_versions(dict(now, version=COMPARE_VERSION - 1))["compare"] == COMPARE_VERSION - 1


def test_shipped_stamp_names_each_models_weights_and_analysis_files():
    toy = next(m for m in list_models() if m["name"] == "toy-gru")
    (name, checksum, files), = V.shipped_stamp([toy])
    shipped = sorted(p.name for p in (MODELS_DIR / "toy-gru" / SHIPPED_DIR).glob("*.pt"))
    assert name == "toy-gru" and len(checksum) > 8 and list(files) == shipped and shipped
    assert V.shipped_stamp([{"name": "x", "path": str(toy["path"])}])[0][2] == files


def test_source_text_prefers_the_upload_then_the_dataset_then_the_row(tmp_path, monkeypatch):
    assert V.source_text(1, ["a", "b"], "uploaded", "b…") == "b"
    monkeypatch.setenv("SENTIMENT_DATA_ROOT", str(tmp_path))     # no dataset here
    assert V.source_text(3, None, "sst2:test", "short") == "short"
    assert V.source_text(0, None, "toy:test", "x") != "x"          # the toy language is generated, always there
