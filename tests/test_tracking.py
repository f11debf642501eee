"""The integration mode r_1, l_1 tracked continuously along the attractor (METHOD section 5: never switched between
neighbouring points by "largest |lambda|"), and the shipped copy of a dynamics analysis in float32, against answers
known from the design."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from core.analysis import dynamics as D
from core.data.text import Vocab
from core.models.rnn import RNNClassifier
from core.storage import cache

WORDS = ["<pad>", "<unk>", "up", "down", "still"]
STEP = 0.137          # how far "up" / "down" move the state along the line (no point lands on the crossing)
CROSS = 0.5           # p_1 where the second mode's |lambda| crosses the integration mode's (= 1)
SLOPE = 0.2           # mu(p_1) = 1 + SLOPE (p_1 - CROSS)
PAIR = 0.95 * np.exp(1j * 0.3)   # a decaying complex pair, a third candidate
READOUT = [2.0, 0.5, 0.3, 0.0]   # y = 2 p_1 + 0.5 p_2 + 0.3 p_3: both slow modes reach the readout


def basis() -> np.ndarray:
    """P: a fixed, well-conditioned, non-orthogonal change of basis h = P p (so left and right eigenvectors differ)."""
    return np.random.default_rng(7).normal(size=(4, 4)) * 0.4 + np.eye(4)


class CrossingLine(nn.Module):
    """In coordinates p = P^-1 h: p_1' = p_1 + x_1 (a line of fixed points along r = P e_1, lambda = 1 exactly),
    p_2' = tanh(mu(p_1) p_2) with mu(p_1) = 1 + SLOPE (p_1 - CROSS), and (p_3, p_4) turned by arg PAIR and shrunk by
    |PAIR|. On the line (p_2 = p_3 = p_4 = 0) the Jacobian is P diag(1, mu(p_1), PAIR block) P^-1: the integration
    mode is r = P e_1, l = row 1 of P^-1 at every point, while the largest |lambda| is mu(p_1) wherever p_1 > CROSS."""

    def __init__(self):
        super().__init__()
        P = torch.from_numpy(basis())
        self.register_buffer("P", P)
        self.register_buffer("Pinv", torch.linalg.inv(P))
        rho, th = abs(PAIR), float(np.angle(PAIR))
        self.register_buffer("rot", torch.tensor([[rho * math.cos(th), -rho * math.sin(th)],
                                                  [rho * math.sin(th), rho * math.cos(th)]], dtype=torch.float64))
        self.embedding = nn.Embedding(len(WORDS), 1).double()
        with torch.no_grad():
            self.embedding.weight.copy_(torch.tensor([[0.0], [0.0], [STEP], [-STEP], [0.0]], dtype=torch.float64))
        self.h0 = nn.Parameter(torch.zeros(4, dtype=torch.float64))
        self.register_buffer("w", self.Pinv.T @ torch.tensor(READOUT, dtype=torch.float64))
        self.state_size = 4

    def step(self, h, x):
        p = h @ self.Pinv.T
        p1 = p[..., :1] + x[..., :1]
        p2 = torch.tanh((1 + SLOPE * (p[..., :1] - CROSS)) * p[..., 1:2])
        p34 = p[..., 2:] @ self.rot.T
        return torch.cat([p1, p2, p34], -1) @ self.P.T

    def readout_vector(self):
        return self.w, torch.zeros((), dtype=torch.float64)

    def logit_of_state(self, h):
        return h @ self.w


@pytest.fixture(scope="module")
def crossing():
    model = CrossingLine()
    clf = RNNClassifier(model, Vocab(WORDS), {"max_len": None, "truncate": "head"})
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(["up", "down", "still"], 20, p=[0.45, 0.35, 0.2])) for _ in range(80)]
    dyn = D.analyze_dynamics(clf, texts, n_seeds=400, n_texts=80, neutral="zero")
    return model, dyn


def test_the_tracked_mode_stays_on_the_integration_direction_where_largest_lambda_switches(crossing):
    model, dyn = crossing
    P, Pinv = basis(), np.linalg.inv(basis())
    pts = torch.cat([dyn["points"], dyn["slow_points"]]).double().numpy()
    p1 = (pts @ Pinv.T)[:, 0]
    assert dyn["slow_points"].shape[0] == 0 and pts.shape[0] >= 15        # the seeds sit on the line exactly
    above = p1 > CROSS
    assert 3 <= above.sum() <= len(p1) - 3                                 # points on both sides of the crossing
    # The largest-|lambda| rule switches to the p_2 mode past the crossing ...
    lam_top, r_top, *_ = D._top_modes(D._batched_jacobians(D.as_float64(model), torch.from_numpy(pts)))
    mu = 1 + SLOPE * (p1 - CROSS)
    assert np.allclose(np.abs(lam_top), np.maximum(1.0, mu), atol=1e-9)
    r_int = P[:, 0] / np.linalg.norm(P[:, 0])
    top_cos = np.abs(r_top @ r_int) / np.linalg.norm(r_top, axis=1)
    assert (top_cos[above] < 0.9).all() and np.allclose(top_cos[~above], 1.0, atol=1e-9)
    # ... while the tracked r_1 stays on r = P e_1 at every point, with lambda_1 = 1 and l_1 = row 1 of P^-1.
    r1, l1 = dyn["r1"].numpy(), dyn["l1"].numpy()
    cos = (r1 @ r_int) / np.linalg.norm(r1, axis=1)
    assert np.allclose(cos, 1.0, atol=1e-9)                  # same direction and the same orientation everywhere
    l_int = Pinv[0] * np.linalg.norm(P[:, 0])                # l . r = 1 for the unit r
    assert np.allclose(l1, l_int, atol=1e-8)
    assert np.allclose(np.einsum("kn,kn->k", l1, r1), 1.0, atol=1e-9)
    lam1 = torch.cat([dyn["lambda1"], dyn["slow_lambda1"]]).numpy()
    assert np.allclose(lam1, 1.0, atol=1e-9)
    # The chosen mode's place among the slowest: second (after mu) exactly where mu > 1.
    idx = dyn["mode1_index"].numpy()
    assert (idx == np.where(above, 1, 0)).all()
    s = dyn["summary"]
    assert s["n_points_integration_not_slowest"] == int(above.sum()) and s["n_track_restarts"] == 0
    assert s["track_alignment_min"] == pytest.approx(1.0, abs=1e-9)
    # modes_lam (slowest first) holds the tracked mode at that place; stability still counts every mode.
    lam_at = dyn["modes_lam"][np.arange(len(idx)), idx].double().numpy()
    assert np.allclose(np.hypot(lam_at[:, 0], lam_at[:, 1]), 1.0, atol=1e-6)
    assert s["n_stable_fixed_points"] == int((mu <= 1 + D.STABLE_TOL).sum())
    # The reference: the stable point nearest readout 0, where the integration mode is the slowest.
    ref = s["reference_index"]
    assert idx[ref] == 0 and abs(p1[ref]) < STEP and s["lambda1_reference"] == pytest.approx(1.0, abs=1e-9)


def test_tracking_follows_a_turning_direction_and_restarts_across_a_gap():
    """Synthetic points and Jacobians: r_1 turns slowly along a line (5 degrees between neighbours), a second
    mode's |lambda| crosses it, eigenvectors come with random signs; far across a gap a new cluster whose modes are
    all at right angles to the last r_1 restarts the track at its slowest mode, oriented as its neighbour."""
    rng = np.random.default_rng(1)
    n, K = 3, 12
    pts = np.zeros((K + 2, n))
    pts[:K, 0] = np.arange(K) * 0.1
    pts[K:, 0] = [10.0, 10.1]                              # the gap
    lam = np.zeros((K + 2, n), dtype=complex)
    R = np.zeros((K + 2, n, n), dtype=complex)
    want = np.zeros((K, n))
    for k in range(K):
        a = np.radians(5 * k)
        r_int = np.array([math.cos(a), math.sin(a), 0.0])
        r_other = np.array([-math.sin(a), math.cos(a), 0.3])
        want[k] = r_int
        lam[k] = [0.99, 0.9 + 0.02 * k, 0.2]                   # crosses 0.99 between k = 4 and 5
        cols = [r_int, r_other, np.array([0.0, 0.0, 1.0])]
        perm = rng.permutation(n)                                 # eig returns modes in no particular order
        lam[k] = lam[k][perm]
        R[k] = np.stack([cols[i] * rng.choice([-1, 1]) for i in perm], 1)
    last, perp = want[K - 1], np.array([-math.sin(np.radians(55)), math.cos(np.radians(55)), 0.0])
    for k in (K, K + 1):        # the far cluster: its slowest mode along e_3, the others 90 and 63 degrees off r_1
        lam[k] = [0.7, 0.98, 0.5]
        R[k] = np.stack([perp, np.array([0.0, 0.0, -1.0]), perp + 0.5 * last], 1)
    L = np.linalg.inv(R)
    tr = D.track_integration_mode(pts, np.ones(n), lam, R, L, None, ref=0)
    r1 = tr["r1"]
    assert np.allclose(r1[:K], want, atol=1e-12)                       # on the turning direction, signs consistent
    assert (tr["index"][:K] == [0] * 5 + [1] * 7).all()              # second slowest once the other mode overtakes
    assert np.allclose(np.abs(tr["lam"][:K]), 0.99)
    assert np.allclose(np.einsum("kn,kn->k", tr["l1"], r1), 1.0, atol=1e-12)
    assert np.allclose(tr["cos"][1:K], math.cos(np.radians(5)), atol=1e-12)
    # Across the gap no candidate is within 60 degrees of r_1: restart at the slowest mode (e_3, |lambda| 0.98).
    assert tr["restarted"][K] and not tr["restarted"][:K].any() and not tr["restarted"][K + 1]
    assert tr["index"][K] == 0 and np.allclose(np.abs(r1[K]), [0, 0, 1])
    assert tr["parent"][K] == K - 1 and tr["parent"][K + 1] == K
    assert np.allclose(r1[K + 1], r1[K])                                # then followed again, same orientation


def test_nearly_parallel_right_eigenvectors_are_told_apart_by_the_left_ones():
    """Non-normal Jacobians: the integration mode's r_a(k) turns by 2 degrees per point in the (e_1, e_2) plane, while
    a slower mode b has r_b(k) only 1 degree from the previous point's r_a (tilted towards e_3), and the third mode
    is the in-plane normal p(k). The parent's r_1 = r_a(k-1) = cos 2deg r_a(k) - sin 2deg p(k) has no part along b at
    all, so b does not carry it, although r_b(k) is nearer to it in angle than r_a(k) (cos 1deg > cos 2deg): the
    cosine of right eigenvectors (and largest |lambda|) would take b; the tracked mode stays a, with alignment
    cos 2deg."""
    n, K = 3, 10
    pts = np.zeros((K, n))
    pts[:, 0] = np.arange(K) * 0.1
    lam = np.zeros((K, n), dtype=complex)
    R = np.zeros((K, n, n), dtype=complex)
    ra = lambda k: np.array([math.cos(np.radians(2 * k)), math.sin(np.radians(2 * k)), 0.0])
    for k in range(K):
        p = np.array([-math.sin(np.radians(2 * k)), math.cos(np.radians(2 * k)), 0.0])
        rb = math.cos(np.radians(1)) * ra(k - 1) + math.sin(np.radians(1)) * np.array([0.0, 0.0, 1.0])
        lam[k] = [0.99, 0.98 if k == 0 else 0.995, 0.5]            # b is the slowest everywhere but the reference
        R[k] = np.stack([ra(k), rb, p], 1)
    L = np.linalg.inv(R)
    tr = D.track_integration_mode(pts, np.ones(n), lam, R, L, None, ref=0)
    assert np.allclose(tr["r1"], np.stack([ra(k) for k in range(K)]), atol=1e-12)
    assert (tr["index"][1:] == 1).all() and np.allclose(np.abs(tr["lam"]), 0.99)
    assert np.allclose(tr["cos"][1:], math.cos(np.radians(2)), atol=1e-12) and not tr["restarted"].any()
    # What the cosine of right eigenvectors would have chosen at point 1: b.
    assert abs(R[1][:, 1].real @ ra(0)) > abs(R[1][:, 0].real @ ra(0))


def test_the_shipped_copy_keeps_points_and_modes_in_float32_bit_for_bit(crossing, tmp_path, monkeypatch):
    _, dyn = crossing
    small = cache.compact(dyn, D.SHIP_OMIT)
    for k in D.SHIP_OMIT:
        assert k in dyn and k not in small
    for k in ("points", "slow_points", "r1", "l1", "modes_lam", "lambda1", "slow_lambda1", "readout",
              "ref_eigvals", "state_scale"):
        assert small[k].dtype == torch.float32 and torch.equal(small[k], dyn[k].float()), k
    assert torch.equal(small["mode1_index"], dyn["mode1_index"])
    # Written as a shipped analysis and read back through the cache: the same bits.
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))
    key = {"test": "tracking"}
    cache.cached("0" * 16, "dynamics", key, lambda: dyn, model_dir=tmp_path, ship=True, ship_omit=D.SHIP_OMIT)
    shipped = cache._read(tmp_path / cache.SHIPPED_DIR / cache.entry_file("0" * 16, "dynamics", key),
                          cache.cache_key("0" * 16, "dynamics", key), print)
    assert shipped is not None and set(shipped) == set(small)
    for k in ("points", "slow_points", "r1", "l1", "modes_lam"):
        assert shipped[k].dtype == torch.float32 and torch.equal(shipped[k], dyn[k].float()), k
    # Nothing is float16 anywhere in a shipped copy.
    assert not any(isinstance(v, torch.Tensor) and v.dtype == torch.float16 for v in shipped.values())
