"""The engine on every cell (GRU, LSTM, UGRNN, vanilla) against answers known by hand (METHOD sections 1-3).

With zero biases and zero input, h* = 0 is a fixed point of every cell (for the LSTM [h; c] = 0), and its
Jacobian there depends only on the candidate's recurrent block M (the gates sit at 1/2 and multiply terms that
vanish at 0):
  vanilla  J = M                      GRU  J = I/2 + M/4           UGRNN  J = I/2 + M/2
  LSTM     J = [[M/4, I/4], [M/2, I/2]] on [h; c], eigenvalues 1/2 + mu/4 for each eigenvalue mu of M, and 0.
M is built with a known complex leading pair, so the eigenvalues, timescales, the integration mode of a
rotation and the conjugate partners of ablation are all known in closed form.
"""
import math
from functools import cache

import numpy as np
import pytest
import torch

from core.analysis import dynamics as D
from core.analysis.context import ContextEngine
from core.models.rnn import ARCHS, RNNClassifier, SentimentRNN
from core.data.text import Vocab

WORDS = ["<pad>", "<unk>", "a", "b", "c", "d"]
H = 5
PAIRS = ((0.9, 0.5), (0.6, 1.2))          # M's eigenvalues: rho e^(+-i theta) twice, and REAL
REAL = 0.3
SCALE = {"vanilla": 1.0, "gru": 1.6, "lstm": 1.6, "ugrnn": 0.8}   # keeps every |lambda| < 1 at h* = 0


def rotation(rho: float, theta: float) -> np.ndarray:
    return rho * np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])


def basis() -> np.ndarray:
    """A fixed random orthogonal change of basis, so that no mode sits on the unit axes."""
    return np.linalg.qr(np.random.default_rng(0).normal(size=(H, H)))[0]


def candidate_block(arch: str) -> np.ndarray:
    """M = s Q blockdiag(rho_1 R(theta_1), rho_2 R(theta_2), REAL) Q^T, rounded to float32 as the weights are
    (its eigenvalues move by about 1e-8)."""
    B = np.zeros((H, H))
    B[:2, :2], B[2:4, 2:4], B[4, 4] = rotation(*PAIRS[0]), rotation(*PAIRS[1]), REAL
    Q = basis()
    return (SCALE[arch] * Q @ B @ Q.T).astype(np.float32).astype(np.float64)


def jacobian_at_zero(arch: str, M: np.ndarray) -> np.ndarray:
    eye = np.eye(H)
    return {"vanilla": M, "gru": eye / 2 + M / 4, "ugrnn": eye / 2 + M / 2,
            "lstm": np.block([[M / 4, eye / 4], [M / 2, eye / 2]])}[arch]


def lambda_of(arch: str, mu: complex) -> complex:
    """The Jacobian's eigenvalue at h* = 0 that M's eigenvalue mu becomes."""
    return {"vanilla": mu, "gru": 0.5 + mu / 4, "ugrnn": 0.5 + mu / 2, "lstm": 0.5 + mu / 4}[arch]


def leading_projector(arch: str) -> np.ndarray:
    """P = r l^T + conj(r l^T) of the leading pair at h* = 0, in closed form. The rotation block rho R(theta) has
    right eigenvector v = (1, -i)/sqrt 2 and left u = (1, i)/sqrt 2 for rho e^(i theta), so one member's
    projector is K = v u^T = [[1, i], [-i, 1]]/2; the LSTM lifts v to [v; 2v] and u to [mu u; u]/(mu + 2)."""
    K = 0.5 * np.array([[1, 1j], [-1j, 1]])
    Q = basis()
    if arch == "lstm":
        mu = SCALE[arch] * PAIRS[0][0] * np.exp(1j * PAIRS[0][1])
        E = np.zeros((2 * H, 2 * H), dtype=complex)
        idx = [0, 1, H, H + 1]
        E[np.ix_(idx, idx)] = np.block([[mu * K, K], [2 * mu * K, 2 * K]]) / (mu + 2)
        Q = np.block([[Q, np.zeros((H, H))], [np.zeros((H, H)), Q]])
    else:
        E = np.zeros((H, H), dtype=complex)
        E[:2, :2] = K
    return Q @ (2 * E.real) @ Q.T


def designed(arch: str, seed: int = 0) -> SentimentRNN:
    """A cell with zero biases, the candidate recurrent block M, and random gate, input and readout weights."""
    torch.manual_seed(seed)
    model = SentimentRNN(len(WORDS), arch, embed_dim=3, hidden_size=H)
    M = torch.from_numpy(candidate_block(arch)).float()     # exact: the block is float32 already
    with torch.no_grad():
        for name, p in model.cell.named_parameters():
            if "bias" in name:
                p.zero_()
        if arch == "ugrnn":
            model.cell.W.weight[H:] = M
        elif arch == "vanilla":
            model.cell.rnn.weight_hh_l0.copy_(M)
        else:   # GRU: rows r, u, n (n is the candidate); LSTM: rows i, f, g, o (g is the candidate)
            model.cell.rnn.weight_hh_l0[2 * H:3 * H] = M
        model.readout.bias.zero_()
    return model


def engine(model: SentimentRNN, n_seeds: int = 60) -> ContextEngine:
    """A ContextEngine on a fresh dynamics analysis of the model at x* = 0, seeded from random word sequences."""
    clf = RNNClassifier(model, Vocab(WORDS), {"arch": model.arch, "max_len": None, "truncate": "head"})
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS[2:], 15)) for _ in range(40)]
    dyn = D.analyze_dynamics(clf, texts, n_seeds=n_seeds, n_texts=40, neutral="zero")
    return ContextEngine(clf, dyn)


@pytest.mark.parametrize("arch", ARCHS)
def test_zero_is_the_fixed_point_with_the_known_jacobian_and_timescales(arch):
    model = D.as_float64(designed(arch))
    seeds = torch.rand(40, model.state_size, generator=torch.Generator().manual_seed(1), dtype=torch.float64) - 0.5
    fp = D.find_fixed_points(model, seeds)
    assert fp["n_converged"] == 40 and fp["points"].abs().max() < 1e-4        # every seed ends at h* = 0
    zero = torch.zeros(1, model.state_size, dtype=torch.float64)
    M = candidate_block(arch)
    J = D.jacobian_rec(model, zero)[0].numpy()
    assert np.allclose(J, jacobian_at_zero(arch, M), rtol=0, atol=1e-12)
    modes = D.eigenmodes(J)
    mus = [SCALE[arch] * r * np.exp(1j * sign * t) for r, t in PAIRS for sign in (1, -1)] + [SCALE[arch] * REAL]
    want = np.array(sorted((lambda_of(arch, m) for m in mus), key=lambda z: -abs(z)))
    n = len(want)
    assert np.allclose(np.sort_complex(modes.eigvals[:n]), np.sort_complex(want), rtol=0, atol=1e-6)
    assert np.allclose(modes.timescales[:n], [-1 / math.log(abs(z)) for z in want], rtol=1e-6)
    if arch == "lstm":
        assert np.allclose(modes.eigvals[n:], 0, atol=1e-9)           # the other half of [h; c]


@pytest.mark.parametrize("arch", ARCHS)
def test_solver_points_meet_the_tolerance_and_jacobians_match_finite_differences(arch):
    """Default weights and biases, a random neutral input: every point the solver accepts has q < Q_TOL when
    recomputed, and the Jacobians there (dF/dh and dF/dx at x*) equal central differences of the step function."""
    torch.manual_seed(3)
    x_star = torch.randn(3)
    model = D.as_float64(SentimentRNN(len(WORDS), arch, embed_dim=3, hidden_size=H), x_star)
    seeds = torch.randn(30, model.state_size, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 0.5
    fp = D.find_fixed_points(model, seeds)
    pts = fp["points"]
    assert pts.shape[0] >= 1 and float(D.speed_q(model, pts).max()) < D.Q_TOL
    x = D.neutral_input(model, pts.shape[0])
    Jr, Ji = D.jacobians(model, pts, x)
    eps = 1e-6
    for b in range(pts.shape[0]):
        fd_r = torch.stack([(model.step(pts[b] + eps * e, x[b]) - model.step(pts[b] - eps * e, x[b])) / (2 * eps)
                            for e in torch.eye(model.state_size, dtype=torch.float64)], dim=1)
        fd_i = torch.stack([(model.step(pts[b], x[b] + eps * e) - model.step(pts[b], x[b] - eps * e)) / (2 * eps)
                            for e in torch.eye(3, dtype=torch.float64)], dim=1)
        assert torch.allclose(Jr[b], fd_r, atol=1e-8) and torch.allclose(Ji[b], fd_i, atol=1e-8)


@pytest.mark.parametrize("arch", ARCHS)
def test_complex_leading_pair_integration_mode_reads_its_plane(arch):
    """At h* = 0 the leading eigenvalue is one of a complex pair: v(h*, x) must be w . P [F(h*, x) - F(h*, 0)], the
    readout of the kick's component in the pair's plane (P in closed form), whatever phase the eigensolver gives
    the eigenvectors; taking Re r, Re l of one member instead depends on that phase. The summary warns, with
    the rotation's period."""
    eng = designed_engine(arch)
    P = leading_projector(arch)
    w = eng.w.numpy()
    ref = eng.ref
    assert eng.points[ref].abs().max() < 5e-4      # q < 1e-8 leaves it ~1e-4 from 0: closed forms hold to ~1e-4
    gain = float(eng.w_r1[ref]) * eng.l1[ref].numpy()
    assert np.allclose(gain, P.T @ w, atol=1e-3)                              # (w . r_1) l_1 = P^T w
    assert float(eng.l1[ref] @ eng.r1[ref]) == pytest.approx(1.0, abs=1e-9)
    assert np.allclose(P @ eng.r1[ref].numpy(), eng.r1[ref].numpy(), atol=1e-3)   # r_1 lies in the plane
    x = eng.embed[2:6]
    kick = (eng.model.step(eng.points[ref].expand(4, -1), x)
            - eng.model.step(eng.points[ref].expand(4, -1), torch.zeros_like(x))).numpy()
    assert np.allclose(eng.v(eng.points[ref].expand(4, -1), x).numpy(), kick @ P.T @ w, atol=1e-3)
    # The eigensolver's phase does not matter; one member's real parts do depend on it.
    lam, R = np.linalg.eig(jacobian_at_zero(arch, candidate_block(arch)))
    top = int(np.argmax(np.abs(lam)))
    r, l = R[:, top], np.linalg.inv(R)[top]
    for phase in (0.0, 0.7, 2.0):
        z = np.exp(1j * phase)
        r1, l1 = D.integration_mode(lam[top], r * z, l / z, w)
        assert np.allclose((w @ r1) * l1, P.T @ w, atol=1e-6)
    old = [(w @ (r * z).real) * (l / z).real for z in np.exp(1j * np.array([0.0, 0.7]))]
    assert not np.allclose(old[0], old[1], atol=1e-3) and not np.allclose(old[0], P.T @ w, atol=1e-3)
    s = eng.summary
    turn = abs(np.angle(lambda_of(arch, SCALE[arch] * PAIRS[0][0] * np.exp(1j * PAIRS[0][1]))))
    assert s["reference_rotation_tokens"] == pytest.approx(2 * math.pi / turn, rel=1e-4)
    assert any("complex pair" in m and "not a line attractor" in m for m in s["warnings"])


def test_a_slowly_turning_pair_is_named_but_not_called_a_rotation():
    """A vanilla cell whose leading pair turns 0.002 rad per token: one turn in 2 pi / 0.002 tokens and about 2
    degrees over the 15-token test texts, so the summary names the pair but calls it a line in effect."""
    model = designed("vanilla")
    B = np.zeros((H, H))
    B[:2, :2], B[2:4, 2:4], B[4, 4] = rotation(0.95, 0.002), rotation(0.5, 1.0), REAL
    Q = basis()
    with torch.no_grad():
        model.cell.rnn.weight_hh_l0.copy_(torch.from_numpy(Q @ B @ Q.T))
    s = engine(model).summary
    assert s["reference_rotation_tokens"] == pytest.approx(2 * math.pi / 0.002, rel=1e-3)
    said = [m for m in s["warnings"] if "complex pair" in m]
    assert len(said) == 1 and "too slow to matter within a document" in said[0] and "not a line attractor" not in said[0]


@pytest.mark.parametrize("arch", ARCHS)
def test_ablating_one_of_a_complex_pair_removes_its_partner_and_stays_real(arch):
    """At h* = 0 the second rotation block is a complex pair: choosing one member removes both; the removed
    correction has no imaginary part (one member's alone has); every other mode's coordinate is untouched. The
    integration pair (modes 0 and 1) is never among the modes a state excites."""
    eng = designed_engine(arch)
    h = eng.points[eng.ref] + 0.05 * torch.randn(eng.points.shape[1], generator=torch.Generator().manual_seed(4),
                                                dtype=torch.float64)
    k = int(eng.nearest(h[None])[0])
    lam, R, L = eng.full_modes(k)
    second = complex(lambda_of(arch, SCALE[arch] * PAIRS[1][0] * np.exp(1j * PAIRS[1][1])))
    a = int(torch.argmin((lam - second).abs()))
    partner = int(torch.argmin((lam - second.conjugate()).abs()))
    assert a != partner and eng.with_partners(h, [a]) == sorted([a, partner])
    assert eng.with_partners(h, [1]) == [0, 1]                      # the integration mode is a pair here
    coef = L @ (h - eng.points[k]).to(torch.complex128)
    both = R[[a, partner]].T @ coef[[a, partner]]
    one = R[[a]].T @ coef[[a]]
    assert both.imag.abs().max() < 1e-12 < one.imag.abs().max()
    h2 = eng.remove_modes(h, [a])
    assert h2.dtype == torch.float64
    after = L @ (h2 - eng.points[k]).to(torch.complex128)
    assert after[[a, partner]].abs().max() < 1e-10
    others = [i for i in range(lam.shape[0]) if i not in (a, partner)]
    assert torch.allclose(after[others], coef[others], atol=1e-10)
    assert not {0, 1} & set(eng.excited_modes(h))


@cache
def designed_engine(arch: str) -> ContextEngine:
    """One engine per cell on the designed weights, shared by the tests (they only read it)."""
    return engine(designed(arch))


def lstm_two_memories() -> SentimentRNN:
    """An LSTM (H = 2) with two stable fixed points A (readout +) and B (readout -), each with its own scale:
    unit 0 is bistable, h_0 = tanh(tanh(4 h_0)) = +-0.76, c_0 = +-1; unit 1 hides its cell (output gate shut)
    and leaks 0.9 of it per token towards 10 tanh(5 h_0), so c_1 = +-10 at the points."""
    model = SentimentRNN(len(WORDS), "lstm", embed_dim=2, hidden_size=2)
    big = 10.0
    with torch.no_grad():
        for p in model.cell.parameters():
            p.zero_()
        b = model.cell.rnn.bias_ih_l0                   # gates i (0, 1), f (2, 3), g (4, 5), o (6, 7)
        b[0:2] = big
        b[2], b[3] = -big, math.log(9.0)
        b[6], b[7] = big, -big
        model.cell.rnn.weight_hh_l0[4, 0] = 4.0
        model.cell.rnn.weight_hh_l0[5, 0] = 5.0
        model.cell.rnn.weight_ih_l0[4] = torch.tensor([3.0, 0.0])   # words push unit 0 either way
        model.readout.weight.zero_()
        model.readout.weight[0, 0] = 1.0
        model.readout.bias.zero_()
        model.embedding.weight.normal_(0, 1, generator=torch.Generator().manual_seed(0))
    return model


def test_lstm_nearest_point_puts_h_and_c_on_their_own_scales():
    """A state that has just switched to A (h at A's value, the slow c_1 still on B's side at -1) relaxes to A.
    Plain Euclidean distance on [h; c] is decided by c_1's large units and names B, the point of the opposite
    readout; with each half divided by its spread over the visited states (c's is about 5x h's) the engine names A.
    The dynamics are not rescaled: the Jacobian at a point is the same either way."""
    eng = engine(lstm_two_memories(), n_seeds=100)
    scale = eng.scale.numpy()
    assert scale[0] == scale[1] and scale[2] == scale[3] and scale[2] > 3 * scale[0]
    s = torch.tensor([[0.75, 0.0, 0.95, -1.0]], dtype=torch.float64)
    settled = D.relax(eng.model, s, 300)
    assert float(eng.y(settled)[0]) == pytest.approx(0.7596, abs=1e-3)       # s belongs to A
    euclid = int(D.nearest_fixed_point(eng.points, s)[0])
    scaled = int(eng.nearest(s)[0])
    assert float(eng.readout_fp[euclid]) < -0.7 and float(eng.readout_fp[scaled]) > 0.7
    for states in (eng.points, torch.randn(50, 4, dtype=torch.float64)):  # each half has unit spread once scaled
        sc = D.state_scale(eng.model, states)
        z = states / sc
        assert [float(z[:, b].var(0, unbiased=False).mean()) for b in D.state_blocks(eng.model)] == pytest.approx([1, 1])


def test_single_block_states_are_not_rescaled():
    model = D.as_float64(SentimentRNN(len(WORDS), "gru", embed_dim=3, hidden_size=H))
    assert D.state_blocks(model) == [slice(0, H)]
    assert torch.equal(D.state_scale(model, torch.randn(20, H, dtype=torch.float64) * 7), torch.ones(H, dtype=torch.float64))


def test_modifier_probes_refuse_a_reference_where_no_word_reaches_the_readout():
    """An LSTM whose integration mode lies in c (the half the readout does not see) has v0 = 0 for every word
    at that reference: the screen must say the analysis does not apply there, not fail on 'too few words'."""
    from types import SimpleNamespace

    import pytest
    from core.analysis.modifiers import probe_words
    eng = SimpleNamespace(v0_all=torch.zeros(50), vocab=list(range(50)), valence_threshold=0.0)
    with pytest.raises(ValueError, match="does not apply at this neutral input"):
        probe_words(eng)
    eng = SimpleNamespace(v0_all=torch.linspace(-1, 1, 50), vocab=list(range(50)), valence_threshold=0.1)
    ids, v0 = probe_words(eng, n_each=5)
    assert len(ids) == 10 and (v0[:5] > 0).all() and (v0[5:] < 0).all()


def test_reach_warning_where_the_integration_mode_misses_the_readout():
    """Worked by hand on a 4-number [h; c] state with the readout on h: r_1 = (0, 0, 0.6, 0.8) lies wholly in c,
    so w . r_1 = 0 and the analyses that divide by v0 do not apply; r_1 = (0.6, 0, 0.8, 0) reaches it."""
    from core.analysis.dynamics import reach_warnings
    w = torch.tensor([1.5, -0.5, 0.0, 0.0], dtype=torch.float64)
    assert "does not reach the readout" in reach_warnings(torch.tensor([0.0, 0.0, 0.6, 0.8]), w)[0]
    assert reach_warnings(torch.tensor([0.6, 0.0, 0.8, 0.0]), w) == []
