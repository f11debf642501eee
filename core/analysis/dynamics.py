"""Fixed points, linearization, eigenmodes and the line attractor (METHOD section 2, paper B).

Works on any model exposing `step(h, x)`, `state_size`, `embedding`, `h0` and `logit_of_state(h)`
(every SentimentRNN cell). Analysis runs in float64 on a copy of the model.

Fixed-point solver: q(h) = (1/N) ||h - F(h, x*)||^2. Plain gradient descent on q crawls near a
marginally stable line attractor, where the Hessian is nearly singular. We first relax seeds with
the dynamics themselves (h <- F(h, x*), a few steps, which kills the fast transients), then take
batched Levenberg-Marquardt steps on the residual r(h) = F(h, x*) - h with the exact Jacobian
(autodiff), solving (A^T A + mu I) delta = -A^T r with A = J - I by Cholesky (batched LU is
avoided: see docs/reference.md on oneMKL).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch

from core.data.loaders import DataError, load_dataset
from core.models.rnn import length_batches, pad_batch
from core.analysis.settings import N_MODES, Q_TOL, RANDOM_SEED_DATA, Settings
from core.models.store import load_model
from core.storage.cache import cached, lookup

SLOW_TOL = 1e-6     # Q_TOL <= q < SLOW_TOL: a slow point (paper B's approximate attractor), kept apart
STABLE_TOL = 1e-3   # a point is (marginally) stable when |lambda_1| <= 1 + STABLE_TOL (growth time >= 1,000 tokens)
REF_NEAR = 1.0      # a reference point further than this from readout 0 compresses every valence: say so
REF_MIN_GAIN = 0.5  # the reference's |w . r_1| must be at least this share of the attractor's median
DRIFT_MAX = 2000    # neutral steps the drift measurement follows a state on the attractor
READOUT_REACH = 1e-9  # |w . r_1| under this x ||w||: the integration mode does not reach the readout
COMPLEX_TOL = 1e-9  # |Im lambda| above this: a complex pair (a rotation), not a real mode
ROTATION_DOC_DEG = 30.0  # a leading pair turning this far over a median document is a rotation, not a line
NEUTRAL_CHOICES = "'quiet' (default), 'zero', 'mean' or a filler word"
TRACK_CANDIDATES = 4  # the integration mode is tracked among each point's 4 slowest modes (a complex pair counts once)
TRACK_MIN_COS = 0.5   # alignment (|cos| for orthogonal modes) with the neighbour's r_1 below this: the track is lost
                      # (a gap), restart at the slowest mode
# Not read by any page, command or test from a shipped dynamics analysis: left out of the shipped copy (the local
# cache keeps them). Check again with grep before adding a reader.
SHIP_OMIT = ("q", "seed_to_point", "lin_error", "ref_R", "ref_L", "ref_timescales", "modes_L")   # modes_L: the
# engine recomputes a point's left vectors when a phrase reaches it (ContextEngine.full_modes); half the size


class NotApplicable(ValueError):
    """An analysis that does not apply to this network at this setting: said plainly, not an error."""


def reach_warnings(r1_ref: torch.Tensor, w: torch.Tensor) -> list[str]:
    """A warning when the integration mode r_1 at the reference point does not reach the readout w (w . r_1 = 0):
    then every word's persistent valence v0 is 0 there, and so is every quantity measured as a ratio to it."""
    if abs(float(r1_ref.double() @ w.double())) > READOUT_REACH * float(torch.linalg.vector_norm(w.double())):
        return []
    return ["the integration mode at the reference point does not reach the readout (w . r_1 = 0; in an LSTM it "
            "can lie wholly in the cell state c, behind saturated tanh units): every word's linearised valence v0 "
            "is 0 there, so v, v0 and every ratio to v0 are not meaningful, and the position analysis does not "
            "apply at this neutral input (try another); the modifiers are measured on the network itself instead "
            "(each word's valence is its exact effect on the readout)"]


def model_reach_warnings(dyn: dict, model_dir, w: torch.Tensor | None = None) -> list[str]:
    """reach_warnings at a dynamics result's reference point; w: the model's readout over its full state
    (SentimentRNN.readout_vector), loaded from model_dir when not given."""
    w = load_model(model_dir).model.readout_vector()[0] if w is None else w
    return reach_warnings(dyn["r1"][int(dyn["summary"]["reference_index"])], w)


def largest_modulus(dyn: dict) -> np.ndarray | None:
    """Each attractor point's largest |lambda| (fixed points, then slow points: its stability, whichever mode is
    its integration mode), from the slowest of its stored modes; None for a result without modes_lam."""
    if "modes_lam" not in dyn or dyn["modes_lam"].ndim != 3 or dyn["modes_lam"].shape[1] == 0:
        return None
    m = dyn["modes_lam"][:, 0].double()
    return torch.hypot(m[:, 0], m[:, 1]).numpy()


def as_float64(model: torch.nn.Module, neutral: torch.Tensor | None = None) -> torch.nn.Module:
    """A float64 copy of the model in eval mode, without gradients. `neutral` is the input x* of
    neutral steps and fixed points (default 0, paper B's choice; or a filler word's embedding)."""
    m = copy.deepcopy(model).double().eval()
    for p in m.parameters():
        p.requires_grad_(False)
    if neutral is not None:
        m.neutral_input = neutral.detach().double().clone()
    return m


def neutral_input(model, n: int = 1) -> torch.Tensor:
    """n copies of the neutral input x* (zeros unless the model copy was given a filler word)."""
    x = getattr(model, "neutral_input", None)
    if x is None:
        return torch.zeros(n, model.embedding.embedding_dim, dtype=next(model.parameters()).dtype)
    return x.expand(n, -1)


def neutral_vector(clf, neutral: str = "quiet") -> torch.Tensor | None:
    """x* for a setting: None for "zero"; "mean": the mean embedding of the 1,000 most frequent words
    (valence and modifier words included); "quiet": see `quiet_input`; else the embedding of that
    (in-vocabulary) filler word."""
    if neutral in (None, "", "zero"):
        return None
    if neutral == "mean":
        return clf.model.embedding.weight.detach()[2:1002].mean(0)
    if neutral == "quiet":
        return quiet_input(clf)[0]
    check_neutral(clf, neutral)
    return clf.model.embedding.weight.detach()[clf.vocab.stoi[neutral]]


def check_neutral(clf, neutral: str | None) -> None:
    """Fail fast, without building x*, on a neutral setting that is neither a named input nor a word of
    the model's vocabulary."""
    if neutral not in (None, "", "zero", "mean", "quiet") and neutral not in clf.vocab:
        raise ValueError(f"neutral input {neutral!r} is neither {NEUTRAL_CHOICES} nor a word in "
                         f"{clf.name}'s vocabulary")


@torch.no_grad()
def quiet_input(clf, n_frequent: int = 1000, share: float = 0.2, n_states: int = 256,
                seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    """The "quiet" neutral input: the mean embedding of the frequent words that move the state least.

    A word's kick is the median, over states the network visits, of ||F(h, E[w]) - F(h, x)||: a word with
    a small kick has little valence (v is linear in F(h, E[w]) - F(h, x*)) and little modifier effect (no
    deflection off the attractor). Two passes: kicks against the mean of the `n_frequent` most frequent
    words, then against the mean of the quietest `share` of them; the result is the mean of the quietest
    share in the second pass. The states come from random sequences of frequent words (no dataset
    needed). Returns (x*, the words it averages)."""
    m = copy.deepcopy(clf.model).double().eval()
    E = m.embedding.weight.detach()
    hi = min(len(clf.vocab), n_frequent + 2)
    ids = torch.arange(2, hi)
    if len(ids) == 0:
        raise ValueError(f"{clf.name}: no vocabulary words to build a quiet neutral input from")
    g = torch.Generator().manual_seed(seed)
    seqs = ids[torch.randint(0, len(ids), (n_states, 30), generator=g)]
    stop = torch.randint(0, 30, (n_states,), generator=g)
    h = m.h0.expand(n_states, -1)
    states = h.clone()
    for t in range(30):
        h = m.step(h, E[seqs[:, t]])
        states = torch.where((stop == t)[:, None], h, states)
    keep = max(1, int(round(share * len(ids))))
    x = E[ids].mean(0)
    for _ in range(2):
        base = m.step(states, x.expand(n_states, -1))                        # (S, N)
        kick = torch.cat([torch.linalg.vector_norm(m.step(states[:, None], E[ids[i:i + 64]][None]) - base[:, None],
                                                   dim=-1).median(0).values for i in range(0, len(ids), 64)])
        chosen = ids[torch.argsort(kick)[:keep]]
        x = E[chosen].mean(0)
    return x.float(), [clf.vocab.itos[int(i)] for i in chosen]


def speed_q(model, h: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
    """q(h) = (1/N) ||h - F(h, x)||^2 per point (x = x*, the neutral input, by default)."""
    x = neutral_input(model, h.shape[0]) if x is None else x
    return ((model.step(h, x) - h) ** 2).mean(-1)


FEW_POINTS = 64   # up to this many points, Jacobians by plain autograd; more, by torch.func (vectorised)


def _jacobian(f, h: torch.Tensor, x: torch.Tensor, wrt: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    """d f(h, x) / d (h, x)[wrt] at each of a batch of points.

    A few points (the pages' per-point eigenmodes) by plain autograd: every point is repeated once per output
    unit, output unit i of copy i is summed, and one backward pass gives row i of every Jacobian. torch.func's
    first call imports torch's compiler stack (about a second: the first thing a fresh server's Phrase page
    would wait for). Many points (the fixed-point solver) by torch.func's vmap(jacrev), about twice as fast there,
    imported only then."""
    B, N = h.shape
    if B > FEW_POINTS:
        from torch.func import jacrev, vmap  # lazy: its first call imports torch's compiler stack (~1 s)
        out = vmap(jacrev(f, argnums=wrt))(h, x)
        return tuple(out)
    args = [a.detach().repeat_interleave(N, 0) for a in (h, x)]
    for k in wrt:
        args[k].requires_grad_(True)
    with torch.enable_grad():
        y = f(*args).view(B, N, N)
        grads = torch.autograd.grad((y * torch.eye(N, dtype=y.dtype)).sum(), [args[k] for k in wrt])
    return tuple(g.view(B, N, g.shape[-1]) for g in grads)


def jacobians(model, h: torch.Tensor, x: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(J_rec = dF/dh (B, N, N), J_inp = dF/dx (B, N, d)) at a batch of points, by autodiff."""
    x = neutral_input(model, h.shape[0]) if x is None else x
    return _jacobian(model.step, h, x, (0, 1))


def jacobian_rec(model, h: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
    """J_rec = dF/dh (B, N, N) at a batch of points (x = x*, the neutral input, by default)."""
    x = neutral_input(model, h.shape[0]) if x is None else x
    return _jacobian(model.step, h, x, (0,))[0]


@dataclass
class Modes:
    """J = R diag(lam) L with L = R^-1; sorted by |lam| descending."""
    eigvals: np.ndarray      # (N,) complex
    R: np.ndarray            # (N, N) complex, columns are right eigenvectors r_a
    L: np.ndarray            # (N, N) complex, rows are left eigenvectors l_a
    timescales: np.ndarray   # (N,) tau_a = -1 / ln|lam_a| in tokens (inf at |lam| = 1, NaN where unstable)


def timescales(eigvals: np.ndarray) -> np.ndarray:
    """tau_a = -1 / ln|lam_a| tokens: infinite at |lam| = 1, NaN for an unstable mode (|lam| > 1), which
    has a growth time instead (`mode_time`)."""
    mag = np.abs(eigvals)
    with np.errstate(divide="ignore"):
        tau = np.where(mag >= 1.0, np.inf, -1.0 / np.log(np.maximum(mag, 1e-300)))
    return np.where(mag > 1.0, np.nan, tau)


def finite_or_none(tau: float) -> float | None:
    """JSON has no infinity or NaN: such a timescale is reported as null."""
    return tau if np.isfinite(tau) else None


def mode_time(lam: complex) -> dict:
    """A mode's time constant for display: {"timescale": tau (null if infinite), "unstable": |lam| > 1,
    "growth": 1 / ln|lam| tokens for an unstable mode (else null)} -- never an infinite timescale for a
    mode that grows."""
    mag = abs(lam)
    if mag > 1.0:
        return {"timescale": None, "unstable": True, "growth": float(1.0 / np.log(mag))}
    return {"timescale": finite_or_none(float(timescales(np.array([mag]))[0])), "unstable": False, "growth": None}


def eigenmodes(J: np.ndarray) -> Modes:
    """Eigendecomposition of one Jacobian with left eigenvectors normalised so L R = I."""
    J = np.asarray(J, dtype=np.float64)
    lam, R = np.linalg.eig(J)
    order = np.argsort(-np.abs(lam), kind="stable")
    lam, R = lam[order], R[:, order]
    L = np.linalg.inv(R)
    return Modes(lam, R, L, timescales(lam))


def relax(model, h: torch.Tensor, steps: int) -> torch.Tensor:
    """Phi_K: apply `steps` neutral-input steps."""
    x = neutral_input(model, h.shape[0])
    with torch.no_grad():
        for _ in range(steps):
            h = model.step(h, x)
    return h


def solve_fixed_points(model, seeds: torch.Tensor, tol: float = Q_TOL, relax_steps: int = 300,
                       relax_q: float = 1e-6, max_iter: int = 100, polish_steps: int = 0, mu0: float = 1e-3,
                       progress=None, relaxed: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched relax + Levenberg-Marquardt on q. Returns (points (S, N), q (S,)) for every seed; when a
    dict is given as `relaxed`, it receives the seeds after the relaxation ("h", "q"): states the network
    reaches under the neutral input, before LM slides them along a slow manifold to exact fixed points."""
    h = seeds.to(torch.float64).clone()
    x = neutral_input(model, h.shape[0])
    with torch.no_grad():  # relax only the points still moving fast, so the spread along the attractor stays
        for _ in range(relax_steps):
            nxt = model.step(h, x)
            fast = ((nxt - h) ** 2).mean(-1) > relax_q
            if not fast.any():
                break
            h[fast] = nxt[fast]
    N = h.shape[1]
    eye = torch.eye(N, dtype=h.dtype)
    q = speed_q(model, h, x)
    if relaxed is not None:
        relaxed.update(h=h.clone(), q=q.clone())
    mu = torch.full((h.shape[0],), mu0, dtype=h.dtype)
    polish = 0
    for it in range(max_iter + polish_steps):
        active = q >= tol
        if not active.any() or it >= max_iter:  # then a few polishing steps on every point
            if polish >= polish_steps:
                break
            polish += 1
            active = torch.ones_like(active)
        idx = active.nonzero().squeeze(1)
        ha, xa = h[idx], x[idx]
        r = model.step(ha, xa) - ha
        A = jacobian_rec(model, ha, xa) - eye
        At = A.transpose(1, 2)
        M = At @ A + mu[idx, None, None] * eye
        g = (At @ r.unsqueeze(-1))
        chol, info = torch.linalg.cholesky_ex(M)
        ok = info == 0
        delta = torch.zeros_like(ha)
        if ok.any():
            delta[ok] = -torch.cholesky_solve(g[ok], chol[ok]).squeeze(-1)
        cand = ha + delta
        q_new = speed_q(model, cand, xa)
        better = (q_new < q[idx]) & ok
        h[idx[better]] = cand[better]
        q[idx[better]] = q_new[better]
        mu[idx] = torch.where(better, (mu[idx] / 10).clamp(min=1e-12), mu[idx] * 10)
        if progress:
            progress(it, int((q < tol).sum()), h.shape[0])
    return h, q


def dedupe(points: torch.Tensor, tol: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy de-duplication: (kept points, index of the kept point each input maps to)."""
    kept: list[int] = []
    owner = torch.empty(points.shape[0], dtype=torch.long)
    for i in range(points.shape[0]):
        if kept:
            d = torch.linalg.vector_norm(points[kept] - points[i], dim=1)
            j = int(torch.argmin(d))
            if float(d[j]) < tol:
                owner[i] = j
                continue
        owner[i] = len(kept)
        kept.append(i)
    return points[kept], owner


def pca_variance(X: np.ndarray, k: int = 3) -> list[float]:
    """Share of variance explained by each of the top k principal components."""
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] < 2:
        return [float("nan")] * k
    s = np.linalg.svd(X - X.mean(0), compute_uv=False) ** 2
    tot = s.sum()
    return [float(v / tot) if tot > 0 else float("nan") for v in s[:k]] + [float("nan")] * max(0, k - len(s))


def visited_states(model, seqs: list[list[int]], max_states: int = 20000,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(h_{t-1}, x_t, h_t) triples the network visits on encoded texts, subsampled to max_states."""
    prev, inp, nxt = [], [], []
    with torch.no_grad():
        for idx in length_batches([len(s) for s in seqs], 32768):
            ids, lengths = pad_batch([seqs[i] for i in idx])
            x = model.embedding(ids)
            h = model.h0.expand(ids.shape[0], -1)
            for t in range(ids.shape[1]):
                real = lengths > t
                h_new = model.step(h, x[:, t])
                prev.append(h[real])
                inp.append(x[real, t])
                nxt.append(h_new[real])
                h = h_new
    if not prev:
        raise ValueError("no states visited: the texts are empty")
    P, X, H = torch.cat(prev), torch.cat(inp), torch.cat(nxt)
    if P.shape[0] > max_states:
        keep = torch.randperm(P.shape[0], generator=torch.Generator().manual_seed(seed))[:max_states]
        P, X, H = P[keep], X[keep], H[keep]
    return P, X, H


def _min_per_cluster(q: torch.Tensor, owner: torch.Tensor, n: int) -> torch.Tensor:
    """The smallest q among the members of each of n de-duplicated clusters (owner: member -> cluster)."""
    return torch.stack([q[owner == k].min() for k in range(n)]) if n else q[:0]


def find_fixed_points(model, seeds: torch.Tensor, tol: float = Q_TOL, dedup_tol: float = 1e-3,
                      noise: float = 0.0, seed: int = 0, polish_steps: int = 0, slow_tol: float = SLOW_TOL,
                      progress=None) -> dict:
    """Fixed points (q < tol) and, apart from them, slow points (tol <= q < slow_tol: where LM stopped,
    or relaxed seeds) from the given seeds, each de-duplicated, with provenance (seed -> fixed point).
    polish_steps > 0 takes extra LM steps after q < tol: exact isolated fixed points, at the cost of sliding
    approximate points along a (nearly) marginal line attractor, so it is off by default."""
    g = torch.Generator().manual_seed(seed)
    seeds = seeds.to(torch.float64)
    if noise:
        seeds = seeds + noise * torch.randn(seeds.shape, generator=g, dtype=seeds.dtype)
    relaxed: dict = {}
    h, q = solve_fixed_points(model, seeds, tol, polish_steps=polish_steps, progress=progress, relaxed=relaxed)
    conv = (q < tol) & torch.isfinite(q)
    pts, owner = dedupe(h[conv], dedup_tol)
    seed_to_point = torch.full((seeds.shape[0],), -1, dtype=torch.long)
    seed_to_point[conv] = owner
    q_pts = _min_per_cluster(q[conv], owner, pts.shape[0])
    # Slow points: where LM stopped short of tol, and the relaxed seeds themselves when they move that slowly
    # (on a leaky attractor LM would slide them to its ends; the network's own states sit there).
    cand_h = torch.cat([h, relaxed["h"]])
    cand_q = torch.cat([q, relaxed["q"]])
    slow = (cand_q >= tol) & (cand_q < slow_tol) & torch.isfinite(cand_q)
    order = torch.argsort(cand_q[slow])                # the slowest representative of each cluster is kept
    slow_pts, slow_owner = dedupe(cand_h[slow][order], dedup_tol)
    slow_q = _min_per_cluster(cand_q[slow][order], slow_owner, slow_pts.shape[0])
    if pts.shape[0] and slow_pts.shape[0]:  # a slow point on top of a fixed point is that fixed point
        apart = torch.cdist(slow_pts, pts).min(dim=1).values >= dedup_tol
        slow_pts, slow_q = slow_pts[apart], slow_q[apart]
    return {"points": pts, "q": q_pts, "seed_to_point": seed_to_point, "n_seeds": int(seeds.shape[0]),
            "n_converged": int(conv.sum()), "slow_points": slow_pts, "slow_q": slow_q}


def choose_reference(readout: torch.Tensor, lambda1: np.ndarray, gain: np.ndarray | None = None,
                     stable_tol: float = STABLE_TOL, min_gain: float = REF_MIN_GAIN) -> tuple[int, bool]:
    """(index of h*_ref, whether it is stable): the stable point (|lambda_1| <= 1 + stable_tol) whose
    readout is nearest 0, among those whose integration mode moves the readout (|w . r_1| = `gain` at least
    min_gain x its median over the stable points: elsewhere every valence v is near 0 and every ratio
    noise); only when no point is stable, the nearest-0 point of all (flagged unstable)."""
    stable = np.abs(lambda1) <= 1 + stable_tol
    dist = readout.abs().double().numpy()
    if stable.any():
        ok = stable
        if gain is not None:
            carries = stable & (np.abs(gain) >= min_gain * np.median(np.abs(gain[stable])))
            ok = carries if carries.any() else stable
        return int(np.argmin(np.where(ok, dist, np.inf))), True
    return int(np.argmin(dist)), False


@torch.no_grad()
def drift(model, points: torch.Tensor, max_steps: int = DRIFT_MAX, n_max: int = 200) -> tuple[float, float]:
    """How fast the attractor leaks under the neutral input: (median over up to n_max points, evenly
    spread along the readout, of the number of neutral steps until the readout has moved one logit
    from where it started, with DRIFT_MAX for points that never move that far; the share of such points)."""
    if points.shape[0] == 0:
        return float("nan"), float("nan")
    y_all = model.logit_of_state(points)
    pick = torch.argsort(y_all)[torch.linspace(0, points.shape[0] - 1, min(n_max, points.shape[0])).round().long()]
    h = points[pick].clone()
    y0 = model.logit_of_state(h)
    first = torch.full((h.shape[0],), max_steps, dtype=torch.long)
    x = neutral_input(model, h.shape[0])
    for k in range(1, max_steps + 1):
        h = model.step(h, x)
        moved = ((model.logit_of_state(h) - y0).abs() >= 1.0) & (first == max_steps)
        first[moved] = k
        if (first < max_steps).all():
            break
    return float(first.double().median()), float((first == max_steps).double().mean())


def state_blocks(model) -> list[slice]:
    """The parts of the state that have their own units: an LSTM's h and c halves, else the whole state."""
    n = model.state_size
    h = getattr(getattr(model, "cell", None), "hidden_size", n)
    return [slice(0, h), slice(h, n)] if h < n else [slice(0, n)]


def state_scale(model, states: torch.Tensor) -> torch.Tensor:
    """Per-coordinate divisor (N,) for distances and principal components: each block of the state (see
    `state_blocks`) divided by its RMS spread over `states`, so that an LSTM's unbounded c half does not decide
    nearest points and projections by its units alone (nor the bounded h half); ones for a single-block state.
    The dynamics themselves are never rescaled."""
    scale = torch.ones(model.state_size, dtype=torch.float64)
    blocks = state_blocks(model)
    if len(blocks) > 1 and states.shape[0] > 1:
        for b in blocks:
            spread = float(states[:, b].double().var(0, unbiased=False).mean().sqrt())
            scale[b] = spread if spread > 0 else 1.0
    return scale


def nearest_fixed_point(points: torch.Tensor, h: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
    """Index of the nearest fixed point for each row of h: Euclidean, in coordinates divided by `scale`
    (`state_scale`) when given."""
    h = h.to(points.dtype)
    if scale is not None:
        points, h = points / scale.to(points.dtype), h / scale.to(points.dtype)
    return torch.cdist(h, points).argmin(dim=1)


def attractor_plane(points: torch.Tensor, scale: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, 2 x N principal axes) of attractor points in coordinates divided by `scale`, PC1 oriented so
    that it increases with the readout y = w . h (positive to the right). A state h projects to
    (h / scale - mean) @ axes.T."""
    X = points.double() / scale.double()
    mu = X.mean(0)
    n = X.shape[1]
    axes = torch.linalg.svd(X - mu, full_matrices=False)[2][:2] if X.shape[0] >= 2 else torch.eye(2, n, dtype=X.dtype)
    if axes.shape[0] < 2:
        axes = torch.cat([axes, torch.zeros(2 - axes.shape[0], n, dtype=X.dtype)])
    if float(axes[0] @ (w.double() * scale.double())) < 0:
        axes = torch.cat([-axes[:1], axes[1:]])
    return mu, axes


def linearization_residual(model, points: torch.Tensor, h_prev: torch.Tensor, x: torch.Tensor,
                           scale: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(||F(h, x) - [h* + J_rec (h - h*) + J_inp (x - x*)]||, F(h, x)) at the nearest fixed point h* (nearest in
    coordinates divided by `scale`, when given): what the linear picture misses of each step, and the step's end."""
    near = nearest_fixed_point(points, h_prev, scale)
    hs = points[near]
    x0 = neutral_input(model, x.shape[0])
    Jr, Ji = jacobians(model, hs, x0)
    pred = hs + (Jr @ (h_prev - hs).unsqueeze(-1)).squeeze(-1) + (Ji @ (x - x0).unsqueeze(-1)).squeeze(-1)
    true = model.step(h_prev, x)
    return torch.linalg.vector_norm(true - pred, dim=1), true


def linearization_error(model, points: torch.Tensor, h_prev: torch.Tensor, x: torch.Tensor,
                        scale: torch.Tensor | None = None) -> torch.Tensor:
    """The linearization residual relative to the state's size, ||F(h, x)|| (as stored in the dynamics summary;
    `linearization_step_error` divides by the step instead, which is what the linear picture must predict)."""
    res, true = linearization_residual(model, points, h_prev, x, scale)
    return res / torch.linalg.vector_norm(true, dim=1).clamp(min=1e-12)


def linearization_step_error(model, points: torch.Tensor, h_prev: torch.Tensor, x: torch.Tensor,
                             scale: torch.Tensor | None = None) -> torch.Tensor:
    """The linearization residual relative to the step it should predict, ||F(h, x) - h||: a large state makes the
    error look small next to ||F(h, x)|| however poorly the step itself is predicted."""
    res, true = linearization_residual(model, points, h_prev, x, scale)
    return res / torch.linalg.vector_norm(true - h_prev, dim=1).clamp(min=1e-12)


def integration_mode(lam: complex, r: np.ndarray, l: np.ndarray,
                     w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Real (r_1, l_1) with l_1 . r_1 = 1 for the leading mode: eigenvalue lam, right and left eigenvectors r, l
    (l . r = 1), readout w.

    A real lam: the eigenvectors. A complex pair (lam, conj lam) has no real eigenvector: its two modes span a
    real plane, which the linearised dynamics turn by arg(lam) and shrink by |lam| each token, with projector
    P = r l^T + conj(r l^T) = 2 Re(r l^T) onto it along the other modes. The integration mode is then that plane
    as the readout sees it: r_1 is the unit vector of the plane closest to w (w's orthogonal projection onto it)
    and l_1 = P^T w / (w . r_1), so that (w . r_1) l_1 . delta = w . P delta, the readout of delta's component in
    the plane at the current phase (the rotation moves it later). Taking Re r and Re l of one member instead
    gets half of that plane at a phase set by the eigensolver. Without w, or with w orthogonal to the plane:
    r_1 = Re r / |Re r| and l_1 = 2 |Re r| Re l, the plane's first real coordinate."""
    if abs(lam.imag) <= COMPLEX_TOL:
        return r.real, l.real
    a = r.real
    first = (a / np.linalg.norm(a), 2 * np.linalg.norm(a) * l.real)
    if w is None:
        return first
    Q = np.linalg.qr(np.stack([a, r.imag], 1))[0]
    p = Q @ (Q.T @ w)
    if np.linalg.norm(p) <= 1e-12 * np.linalg.norm(w):
        return first
    r1 = p / np.linalg.norm(p)
    return r1, 2 * np.real((w @ r) * l) / (w @ r1)


def _top_modes(J: np.ndarray, w: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """(lambda_1, r_1, l_1, and all eigenvalues, R, L) at a batch of Jacobians (B, N, N), r_1 oriented so
    its entries sum >= 0; for a complex leading pair, r_1 and l_1 as `integration_mode` defines them with
    the readout w."""
    lam, R = np.linalg.eig(J)
    top = np.argmax(np.abs(lam), axis=1)
    Linv = np.linalg.inv(R)
    ar = np.arange(J.shape[0])
    r1, l1 = R[ar, :, top].real.copy(), Linv[ar, top, :].real.copy()
    for i in np.nonzero(np.abs(lam[ar, top].imag) > COMPLEX_TOL)[0]:
        r1[i], l1[i] = integration_mode(lam[i, top[i]], R[i, :, top[i]], Linv[i, top[i]], w)
    flip = r1.sum(1) < 0
    r1[flip], l1[flip] = -r1[flip], -l1[flip]
    return lam[ar, top], r1, l1, lam, R, Linv


def _candidate_modes(lam: np.ndarray, R: np.ndarray, L: np.ndarray, w: np.ndarray | None,
                     n: int) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The n slowest modes of one point as integration-mode candidates [(index, r, l, B, C)]: lam sorted by |lam|
    descending (stable) with R's columns and L's rows in that order, a complex pair counted once (at its first
    member, with r, l as `integration_mode` makes them real). B @ C is the mode's projector along the point's other
    modes: r l^T for a real mode, 2 Re(r l^T) for a pair's plane (B = [Re r, Im r], C = [2 Re l; -2 Im l])."""
    out, partners = [], set()
    for a in range(lam.shape[0]):
        if len(out) >= n:
            break
        if a in partners:
            continue
        r, l = integration_mode(lam[a], R[:, a], L[a], w)
        if abs(lam[a].imag) > COMPLEX_TOL:
            rest = [b for b in range(a + 1, lam.shape[0]) if b not in partners]
            if rest:
                partners.add(rest[int(np.argmin(np.abs(lam[rest] - np.conj(lam[a]))))])
            B, C = np.stack([R[:, a].real, R[:, a].imag], 1), np.stack([2 * L[a].real, -2 * L[a].imag])
        else:
            B, C = r[:, None], l[None, :]
        out.append((a, r, l, B, C))
    return out


def track_integration_mode(points: np.ndarray, scale: np.ndarray, lam: np.ndarray, R: np.ndarray, L: np.ndarray,
                           w: np.ndarray | None, ref: int, n_candidates: int = TRACK_CANDIDATES,
                           min_cos: float = TRACK_MIN_COS) -> dict:
    """The integration mode r_1, l_1 followed continuously along the attractor (METHOD section 5: never switched
    between neighbouring points by "largest |lambda|").

    points (K, N); scale (N,) (`state_scale`); lam (K, N), R (K, N, N), L (K, N, N): each point's eigenvalues,
    right eigenvectors (columns) and left eigenvectors (rows) in any order (each point's modes are sorted here by
    |lambda| descending, stable, as `eigenmodes` and modes_lam sort them); w: the readout. At the reference point
    `ref` the integration mode is its slowest mode, oriented so that r_1's entries sum >= 0 (as `_top_modes`), the
    mode the reference was chosen by (`choose_reference`, on each point's slowest mode). From there the
    points are taken in the order of a minimum spanning tree grown from the reference (Prim, Euclidean in coordinates
    divided by `scale`): each new point is the one nearest to a point already assigned, its parent. Among the new
    point's `n_candidates` slowest modes (a complex pair counted once) it takes the one that best carries the
    parent's r_1: projected onto the candidate along the point's other modes (P r_1 with P = r l^T, or a pair's
    plane projector), the parent's r_1 leaves the smallest remainder e = ||r_1 - P r_1|| / ||r_1|| (norms in the
    coordinates divided by `scale`); the alignment sqrt(1 - e^2) is |cos| between the two r_1 where the modes are
    orthogonal. Unlike the cosine of the two right eigenvectors, it tells apart slow modes whose right eigenvectors
    are nearly parallel (non-normal Jacobians, as trained GRUs have): the left eigenvector of a wrong one gives the
    parent's r_1 almost no weight. The sign makes P r_1 point along the new r_1 (l_1 follows, so l_1 . r_1 = 1
    holds). Where no candidate reaches an alignment of min_cos (a gap in the points, where the parent says nothing),
    the track restarts at the slowest mode, still oriented along the parent's r_1.

    Returns {"index" (K,): the chosen mode's position in the sorted order, "r1", "l1" (K, N), "lam" (K,) complex,
    "cos" (K,): the alignment with the parent's r_1 (1 at the reference), "parent" (K,) (-1 at the reference),
    "restarted" (K,) bool}."""
    K, N = points.shape
    X = points / scale
    index = np.zeros(K, dtype=np.int64)
    r1, l1 = np.zeros((K, N)), np.zeros((K, N))
    cos, parent, restarted = np.ones(K), np.full(K, -1, dtype=np.int64), np.zeros(K, dtype=bool)

    def candidates(k: int, n: int) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        o = np.argsort(-np.abs(lam[k]), kind="stable")
        return _candidate_modes(lam[k][o], R[k][:, o], L[k][o], w, n)

    def alignment(r: np.ndarray, B: np.ndarray, C: np.ndarray, rp: np.ndarray) -> float:
        """Signed alignment of a candidate (r, projector B C) with the parent's r_1 = rp."""
        pr = B @ (C @ rp)
        e = np.linalg.norm((rp - pr) / scale) / max(np.linalg.norm(rp / scale), 1e-300)
        s = float((r / scale) @ (pr / scale))
        return (-1.0 if s < 0 else 1.0) * float(np.sqrt(max(0.0, 1.0 - e * e)))

    _, r, l, _, _ = candidates(ref, 1)[0]
    sign = -1.0 if r.sum() < 0 else 1.0
    r1[ref], l1[ref] = sign * r, sign * l
    done = np.zeros(K, dtype=bool)
    done[ref] = True
    best = np.linalg.norm(X - X[ref], axis=1)          # distance of each point to the assigned set
    near = np.full(K, ref, dtype=np.int64)              # ... and the assigned point it is nearest to
    for _ in range(K - 1):
        k = int(np.argmin(np.where(done, np.inf, best)))
        p = int(near[k])
        cands = candidates(k, n_candidates)
        c = np.array([alignment(r, B, C, r1[p]) for _, r, _, B, C in cands])
        j = int(np.argmax(np.abs(c)))
        if abs(c[j]) < min_cos:
            j, restarted[k] = 0, True
        a, r, l, B, _ = cands[j]
        s = float((r / scale) @ (r1[p] / scale)) if c[j] == 0 else c[j]
        sign = -1.0 if s < 0 or (s == 0 and r.sum() < 0) else 1.0
        index[k], r1[k], l1[k], cos[k], parent[k] = a, sign * r, sign * l, abs(c[j]), p
        done[k] = True
        d = np.linalg.norm(X - X[k], axis=1)
        closer = d < best
        best[closer], near[closer] = d[closer], k
    lam_sorted = np.take_along_axis(lam, np.argsort(-np.abs(lam), axis=1, kind="stable"), 1)
    return {"index": index, "r1": r1, "l1": l1, "lam": lam_sorted[np.arange(K), index], "cos": cos,
            "parent": parent, "restarted": restarted}


def _batched_jacobians(model, pts: torch.Tensor) -> np.ndarray:
    if pts.shape[0] == 0:
        return np.zeros((0, model.state_size, model.state_size))
    return torch.cat([jacobian_rec(model, pts[i:i + 128]) for i in range(0, pts.shape[0], 128)]).numpy()


def analyze_dynamics(clf, texts: list[str], n_seeds: int = 1000, n_texts: int = 500, noise: float = 0.0,
                     tol: float = Q_TOL, dedup_tol: float = 1e-3, seed: int = 0, neutral: str = "quiet",
                     progress=None) -> dict:
    """Everything METHOD section 2 reports for one RNN classifier, as a cacheable dict."""
    t0 = time.time()
    neutral = neutral or "zero"
    if neutral == "quiet":
        x_star, neutral_words = quiet_input(clf)
    else:
        x_star, neutral_words = neutral_vector(clf, neutral), None
    model = as_float64(clf.model, x_star)
    rng = np.random.default_rng(seed)
    texts = [texts[i] for i in sorted(rng.choice(len(texts), min(n_texts, len(texts)), replace=False))]
    seqs = [s for s in clf.encode(texts) if s]
    h_prev, x_in, h_next = visited_states(model, seqs, max_states=max(20000, n_seeds), seed=seed)
    g = torch.Generator().manual_seed(seed)
    seeds = h_next[torch.randperm(h_next.shape[0], generator=g)[:n_seeds]]
    fp = find_fixed_points(model, seeds, tol, dedup_tol, noise, seed, progress=progress)
    # Points as they are stored (float32), so that every Jacobian, mode and readout below is of the stored point:
    # an engine built on the stored copy recomputes the same modes there.
    pts = fp["points"].float().double()
    if pts.shape[0] == 0:
        raise RuntimeError(f"no fixed point reached q < {tol:g} from {n_seeds} seeds")
    with torch.no_grad():
        readout = model.logit_of_state(pts)
    order = torch.argsort(readout)
    pts, readout, q = pts[order], readout[order], fp["q"][order]
    remap = torch.empty_like(order)
    remap[order] = torch.arange(order.shape[0])
    s2p = torch.where(fp["seed_to_point"] >= 0, remap[fp["seed_to_point"].clamp(min=0)], fp["seed_to_point"])
    # Slow points, ordered by readout after the fixed points: together they are the (approximate) attractor.
    slow = fp["slow_points"].float().double()
    with torch.no_grad():
        slow_readout = model.logit_of_state(slow) if slow.shape[0] else slow[:, 0]
    s_order = torch.argsort(slow_readout)
    slow, slow_readout, slow_q = slow[s_order], slow_readout[s_order], fp["slow_q"][s_order]
    n_fp = pts.shape[0]
    attractor = torch.cat([pts, slow])
    att_readout = torch.cat([readout, slow_readout])
    # The slowest mode at every point (largest |lambda|: stability, and the reference's integration mode); full
    # eigenmodes at the reference point.
    J = _batched_jacobians(model, attractor)
    w_out = model.readout_vector()[0].double().numpy()
    lam1, r1_top, _, lam, R, Linv = _top_modes(J, w_out)
    ref, ref_stable = choose_reference(att_readout, lam1, r1_top @ w_out)
    scale = state_scale(model, h_next)        # distances and PCA on an LSTM's [h; c]: each half on its own scale
    sc = scale.numpy()
    # The integration mode r_1, l_1 at every point: followed continuously from the reference along the attractor.
    track = track_integration_mode(attractor.numpy(), sc, lam, R, Linv, w_out, ref)
    r1, l1, lam_int = track["r1"], track["l1"], track["lam"]
    del R
    # The slowest n_modes modes at every point (for per-token mode splits and ablation).
    n_modes = min(N_MODES, J.shape[1])
    order = np.argsort(-np.abs(lam), axis=1, kind="stable")[:, :n_modes]
    modes_lam = np.take_along_axis(lam, order, 1)
    modes_L = np.take_along_axis(Linv, order[:, :, None], 1)                   # (K, n_modes, N)
    del Linv
    modes = eigenmodes(J[ref])
    mag = np.abs(modes.eigvals)
    pc_visited = pca_variance(h_next.numpy() / sc, 3)
    pc_fixed = pca_variance(pts.numpy() / sc, 3)
    if attractor.shape[0] >= 2:  # r_1, l_1, modes_*: one row per point, fixed points first, then slow points
        centered = attractor.numpy() / sc - (attractor.numpy() / sc).mean(0)
        direction = np.linalg.svd(centered, full_matrices=False)[2][0]
        r_ref = r1[ref] / sc / np.linalg.norm(r1[ref] / sc)
        alignment = float(abs(direction @ r_ref))
    else:
        alignment = float("nan")
    drift_tokens, drift_capped = drift(model, attractor)
    doc_len = float(np.median([len(sq) for sq in seqs]))
    n_lin = min(2000, h_prev.shape[0])
    lin_err = linearization_error(model, attractor, h_prev[:n_lin], x_in[:n_lin], scale)
    ref_readout = float(att_readout[ref])
    turn = abs(float(np.angle(lam1[ref])))      # radians per token: 0 for a positive real lambda_1
    rotation = float(2 * np.pi / turn) if turn > COMPLEX_TOL else None
    warnings = []
    if not ref_stable:
        warnings.append(f"no stable fixed or slow point (|lambda_1| <= {1 + STABLE_TOL:g}): the reference point is "
                        f"unstable (|lambda_1| = {abs(lam1[ref]):.4f}), so states leave it and every valence, "
                        "modifier strength and position curve measured there is unreliable")
    if abs(ref_readout) > REF_NEAR:
        warnings.append(f"no {'stable ' if ref_stable else ''}fixed or slow point lies within {REF_NEAR:g} logit of "
                        f"readout 0: the reference point sits at readout {ref_readout:+.2f}, where valences are "
                        "compressed")
    if rotation is not None:
        doc_turn = float(np.degrees(turn * doc_len))
        warnings.append(
            f"the leading eigenvalue at the reference point is "
            f"{'one of a complex pair' if abs(lam1[ref].imag) > COMPLEX_TOL else 'negative'} (lambda_1 = "
            f"{lam1[ref].real:+.4f}{lam1[ref].imag:+.4f}i, |lambda_1| {abs(lam1[ref]):.4f}): the slowest dynamics there "
            f"turn by {np.degrees(turn):.3g} degrees per token, one turn in {rotation:,.0f} tokens, {doc_turn:.3g} degrees "
            f"over a median document ({doc_len:.0f} tokens): "
            + ("a rotation, not a line attractor; the integration mode is the rotating plane as the readout sees it "
               "now, so v, v0 and the modifier strengths measured there leave out where the rotation takes a valence "
               "later" if doc_turn >= ROTATION_DOC_DEG else
               "too slow to matter within a document (a line attractor in effect), but the integration mode is the "
               "pair's plane as the readout sees it"))
    if not (float(att_readout.min()) < 0 < float(att_readout.max())):
        warnings.append("the fixed and slow points do not span both signs of the readout: no line attractor "
                        "through the neutral point at this neutral input")
    summary = {
        "neutral_input": neutral, "neutral_words_n": len(neutral_words) if neutral_words else None,
        "neutral_words_sample": neutral_words[:20] if neutral_words else None,
        "n_fixed_points": int(pts.shape[0]), "n_seeds": fp["n_seeds"], "n_converged": fp["n_converged"],
        "n_stable_fixed_points": int((np.abs(lam1[:n_fp]) <= 1 + STABLE_TOL).sum()), "stable_tolerance": STABLE_TOL,
        "n_stable_slow_points": int((np.abs(lam1[n_fp:]) <= 1 + STABLE_TOL).sum()),
        "q_max": float(q.max()), "q_unit": "mean over state dims: (1/N)||h - F(h,x*)||^2",
        "readout_range": [float(readout.min()), float(readout.max())],
        "n_slow_points": int(slow.shape[0]), "slow_tolerance": SLOW_TOL,
        "slow_readout_range": [float(slow_readout.min()), float(slow_readout.max())] if slow.shape[0] else None,
        "slow_q_range": [float(slow_q.min()), float(slow_q.max())] if slow.shape[0] else None,
        "attractor_readout_range": [float(att_readout.min()), float(att_readout.max())],
        "drift_tokens_per_logit": drift_tokens, "drift_capped_share": drift_capped, "drift_max_steps": DRIFT_MAX,
        "median_doc_tokens": doc_len,
        "reference_index": ref, "reference_readout": ref_readout, "reference_stable": ref_stable,
        "reference_kind": "fixed point" if ref < n_fp else "slow point",
        "reference_q": float(q[ref]) if ref < n_fp else float(slow_q[ref - n_fp]),
        "reference_near_zero": abs(ref_readout) <= REF_NEAR,
        "lambda1_reference": float(abs(lam1[ref])), "reference_rotation_tokens": rotation,
        "lambda1_meaning": ("lambda1 / slow_lambda1 / mode1_index / r1 / l1: the integration mode tracked continuously "
                            "from the reference along the attractor (each point takes, among its "
                            f"{TRACK_CANDIDATES} slowest modes, the one that best carries its nearest already-tracked "
                            "neighbour's r_1: track_integration_mode), not each point's largest |lambda|; at the "
                            "reference it is the slowest mode. Stability (n_stable_*) counts every mode: the largest "
                            "|lambda|"),
        "n_points_integration_not_slowest": int((track["index"] != 0).sum()),
        "n_track_restarts": int(track["restarted"].sum()),
        "track_alignment_min": float(np.delete(track["cos"], ref).min()) if attractor.shape[0] > 1 else None,
        "track_alignment_median": float(np.median(np.delete(track["cos"], ref))) if attractor.shape[0] > 1 else None,
        "timescales_top": [finite_or_none(float(t)) for t in modes.timescales[mag <= 1][:5]],
        "unstable_growth_top": [float(1 / np.log(m)) for m in mag[mag > 1][:5]],
        "eigvals_top": [[float(v.real), float(v.imag)] for v in modes.eigvals[:5]],
        "pc_variance_explained": pc_visited, "pc_variance_fixed_points": pc_fixed,
        "attractor_alignment": alignment,
        "linearization_error_median": float(lin_err.median()),
        "linearization_error_n": int(n_lin), "warnings": warnings, "seconds": round(time.time() - t0, 2),
    }
    out = {"summary": summary, "points": pts.float(), "readout": readout.float(), "q": q,
           "seed_to_point": s2p, "lambda1": torch.from_numpy(np.abs(lam_int[:n_fp])),
           "slow_points": slow.float(), "slow_readout": slow_readout.float(), "slow_q": slow_q,
           "slow_lambda1": torch.from_numpy(np.abs(lam_int[n_fp:])),
           "r1": torch.from_numpy(r1), "l1": torch.from_numpy(l1), "mode1_index": torch.from_numpy(track["index"]),
           "ref_eigvals": torch.from_numpy(np.stack([modes.eigvals.real, modes.eigvals.imag], 1)),
           "ref_R": torch.from_numpy(np.stack([modes.R.real, modes.R.imag])),
           "ref_L": torch.from_numpy(np.stack([modes.L.real, modes.L.imag])),
           "ref_timescales": torch.from_numpy(modes.timescales),
           "lin_error": lin_err.float(), "state_scale": scale,
           "modes_lam": torch.from_numpy(np.stack([modes_lam.real, modes_lam.imag], -1)).float(),
           "modes_L": torch.from_numpy(np.stack([modes_L.real, modes_L.imag], -1)).float()}
    if x_star is not None:
        out["neutral_vector"] = x_star.double()
    return out


def random_texts(clf, n_texts: int = 500, length: int = 50, n_frequent: int = 5000, seed: int = 0) -> list[str]:
    """Texts of random frequent vocabulary words: seed sequences for the fixed-point search when the
    model's dataset is not on this machine (the states they visit stand in for real text's)."""
    hi = min(len(clf.vocab), n_frequent + 2)
    if hi <= 2:
        raise ValueError(f"{clf.name}: the vocabulary has no words to build seed texts from")
    rng = np.random.default_rng(seed)
    return [" ".join(clf.vocab.itos[i] for i in rng.integers(2, hi, length)) for _ in range(n_texts)]


def stored_dynamics(s: Settings, log=None) -> dict | None:
    """The stored dynamics analysis of a model at these settings on its training set (local cache or shipped
    copy; seeded from the dataset or, where it was missing, from random words), or None: computes nothing."""
    data = s.training_data()
    for d in ([data] if data else []) + [RANDOM_SEED_DATA]:
        found = lookup(s.checksum, "dynamics", s.dynamics_key(d), s.path, log)
        if found is not None:
            return found
    return None


def dynamics(s: Settings, refresh: bool = False, progress=None, log=None, ship: bool = False) -> dict:
    """Cached analyze_dynamics for a model folder, with `cached` (whether it was found stored); the seeding
    data defaults to the model's training set. Looks in the local cache, then in the model's shipped analyses;
    when neither has it and the dataset is not on this machine, seeds the search from random frequent words and
    says so in the summary's warnings."""
    return dynamics_of(load_model(s.path), s, refresh, progress, log, ship)


def dynamics_of(clf, s: Settings, refresh: bool = False, progress=None, log=None, ship: bool = False) -> dict:
    """`dynamics` for a classifier already loaded from s.path (so an engine reads the weights once)."""
    if clf.kind != "rnn":
        raise ValueError(f"{clf.name} is a {clf.kind} model: dynamics need an RNN")
    data = s.seed_data()
    if data is None:
        raise ValueError(f"{clf.name}: no training dataset recorded; pass --data")
    check_neutral(clf, s.neutral)  # an unknown filler word fails here, before any work (and x* is built only on a miss)

    found = None if refresh else lookup(s.checksum, "dynamics", s.dynamics_key(data), clf.path, log)
    if found is not None and not ship:
        return dict(found, cached=True)
    texts = None
    if found is None and data != RANDOM_SEED_DATA:
        try:
            texts = load_dataset(data, s.data_root).texts
        except DataError as e:
            (log or (lambda m: None))(f"{e}; seeding the fixed-point search from random frequent words instead")
            data = RANDOM_SEED_DATA
    if data == RANDOM_SEED_DATA:
        texts = random_texts(clf, s.n_texts, seed=s.seed)

    def compute() -> dict:
        out = analyze_dynamics(clf, texts, s.n_seeds, s.n_texts, seed=s.seed, neutral=s.neutral, progress=progress)
        if data == RANDOM_SEED_DATA:
            out["summary"]["warnings"] = out["summary"].get("warnings", []) + [
                "the model's dataset is not on this machine: the fixed-point search started from states visited on "
                "random sequences of frequent words, not real text, so the points may cover the attractor less well"]
        return out

    res, hit = cached(s.checksum, "dynamics", s.dynamics_key(data), compute, refresh, log, model_dir=clf.path,
                      ship=ship, ship_omit=SHIP_OMIT)
    return dict(res, cached=hit)
