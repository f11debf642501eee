"""Valence and contextual modulation, token by token (METHOD section 3), with mode ablation.

`ContextEngine` wraps an RNN classifier and its cached dynamics analysis (fixed points, integration
mode r_1/l_1 and the slowest modes at each fixed point). Names follow METHOD.md:
  v(h, x)      persistent valence  = (w . r_1) * l_1 . [F(h, x) - F(h, x*)]   at h*(h)
  v_relax      exact version       = y(Phi_K(F(h, x))) - y(Phi_K(F(h, x*)))
  v0(w)        context-free        = v(h*_ref, E[w])
  m_t          modulation          = v(h_{t-1}, x_t) / v0(w_t)   where |v0| > valence threshold
x* is the neutral input of the dynamics analysis: F(h, x*) and the neutral steps Phi_K use it
(zero in paper B; the "quiet" input by default; or a filler word), recorded with every result. A text may
hold x* itself as the token NEUTRAL_TOKEN ("∅"): x* is rarely a word, and "this word replaced by the neutral
input" is a question the pages ask. A phrase is read from the model's initial state h0, or from a chosen state
(core.analysis.start).
"""
from __future__ import annotations

import math
import threading

import numpy as np
import torch

from core.analysis.attractor import integration_figures
from core.analysis.dynamics import (
    COMPLEX_TOL,
    as_float64,
    attractor_plane,
    dynamics_of,
    eigenmodes,
    jacobian_rec,
    linearization_error,
    linearization_step_error,
    mode_time,
    nearest_fixed_point,
    neutral_input,
    reach_warnings,
    relax,
    timescales,
)
from core.analysis.settings import Settings
from core.analysis.start import MAX_START_TOKENS, QUOTE_CHARS, Start
from core.data.text import tokenize, truncate_tokens
from core.models.store import load_model

MAX_TOKENS = 2000
RELAX_MIN, RELAX_MAX = 50, 1000   # bounds of the neutral steps K in v_relax
RELAX_TRANSIENTS = 5              # K should cover this many slowest transient timescales
M_BAND = 0.2  # per-token display: |m - 1| within this band reads as "about 1" (no context effect)
LINEAR_TOL = 0.5  # v "agrees" with v_relax when |v - v_relax| <= this x max(|v_relax|, valence threshold)
EXCITED_FRACTION = 0.5  # a mode is "excited" when its amplitude is at least this share of the largest
NEUTRAL_TOKEN = "∅"     # a token read as the neutral input x* itself (the tokenizer keeps it one token)


class ContextEngine:
    """Per-token valence, modulation, deflection and mode analysis for one RNN."""

    def __init__(self, clf, dyn: dict, relax_steps: int | None = None):
        if clf.kind != "rnn":
            raise ValueError(f"{getattr(clf, 'name', 'model')} is a {clf.kind} model: context analysis needs an RNN")
        self.clf, self.vocab = clf, clf.vocab
        self.summary = dyn["summary"]
        self.neutral = self.summary.get("neutral_input", "zero")
        self.model = as_float64(clf.model, dyn.get("neutral_vector"))   # x* as the analysis built it
        # The attractor: fixed points, then slow points (r_1, l_1 and modes_* have one row per point).
        self.points = torch.cat([dyn["points"].double(), dyn["slow_points"].double()])
        self.readout_fp = torch.cat([dyn["readout"].double(), dyn["slow_readout"].double()])
        self.r1, self.l1 = dyn["r1"].double(), dyn["l1"].double()
        self.scale = dyn["state_scale"].double()   # nearest points and projections: an LSTM's h and c on their own scales
        self.ref = int(self.summary["reference_index"])
        self.h_ref = self.points[self.ref]
        self.modes_lam = torch.complex(dyn["modes_lam"][..., 0].double(), dyn["modes_lam"][..., 1].double())
        self.modes_tau = torch.from_numpy(timescales(self.modes_lam.numpy()))
        # Each point's integration mode (tracked along the attractor): its place among the point's modes, slowest first.
        self.mode1 = (dyn["mode1_index"].long() if "mode1_index" in dyn
                      else torch.zeros(len(self.points), dtype=torch.long))
        w, b = self.model.readout_vector()
        self.w, self.b = w.double(), float(b)
        self.w_r1 = self.r1 @ self.w                         # (K,) readout gain of the integration mode
        self.relax_steps = relax_steps or self.default_relax_steps()
        self.embed = self.model.embedding.weight.detach()
        # Every input a text can hold: the embeddings, then x* as NEUTRAL_TOKEN's row (see encode).
        self.inputs = torch.cat([self.embed, neutral_input(self.model, 1)])
        self.neutral_id = len(self.embed)
        # One engine serves every session of the app at once (st.cache_resource): the only state filled
        # after construction is this per-point cache, guarded by a lock; everything else is read-only.
        self._full_modes: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self._modes_lock = threading.Lock()
        self._basis = self._pc_basis()
        with torch.no_grad():   # v(h*_ref, E[w]) for every word, with h*(h*_ref) and F(h*_ref, x*) computed once
            base = self.model.step(self.h_ref[None], neutral_input(self.model, 1))
            diff = self.model.step(self.h_ref.expand(len(self.vocab), -1), self.embed) - base
            self.v0_all = self.w_r1[self.ref] * (diff @ self.l1[self.ref])
        self.v0_all[:2] = 0.0                                # <pad>, <unk> carry no valence by definition
        self.valence_threshold = 0.1 * float(self.v0_all[2:].abs().quantile(0.99))

    def default_relax_steps(self) -> int:
        """K of Phi_K in v_relax: long enough for the transients (5 x tau of mode 2 at h*_ref), short enough
        that the attractor's own drift moves the state by at most 0.2 logit (drift / 5), within RELAX_MIN..
        RELAX_MAX steps. On a leaky attractor a longer K measures the drift, not the token."""
        tau2 = float(self.modes_tau[self.ref, 1]) if self.modes_tau.shape[1] > 1 else 10.0
        k = RELAX_TRANSIENTS * tau2 if math.isfinite(tau2) else RELAX_MAX
        drift = self.summary.get("drift_tokens_per_logit")
        if drift is not None and math.isfinite(drift):
            k = min(k, drift / 5)
        return int(min(RELAX_MAX, max(RELAX_MIN, math.ceil(k))))

    @property
    def reaches_readout(self) -> bool:
        """Whether the integration mode at the reference reaches the readout (w . r_1 != 0): else every linear
        valence v0 is 0 and only exact measurements read the network (core.analysis.dynamics.reach_warnings)."""
        return not reach_warnings(self.r1[self.ref], self.w)

    def slowest_transient(self) -> float | None:
        """The slowest decaying transient's timescale at the reference (tokens; the integration mode apart)."""
        return integration_figures(self.modes_lam[self.ref].numpy(), int(self.mode1[self.ref]))[
            "slowest_transient_timescale"]

    # ---- core quantities --------------------------------------------------------------------
    def nearest(self, h: torch.Tensor) -> torch.Tensor:
        """h*(h): index of the nearest attractor point for each row of h (each block of the state on its own
        scale, see core.analysis.dynamics.state_scale)."""
        return nearest_fixed_point(self.points, h, self.scale)

    def y(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.w + self.b

    @torch.no_grad()
    def v(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Persistent valence of input x at state h (broadcasts over leading dims)."""
        hb, xb = torch.broadcast_tensors(h[..., :1], x[..., :1])
        shape = hb.shape[:-1]
        h2 = h.expand(*shape, h.shape[-1]).reshape(-1, h.shape[-1])
        x2 = x.expand(*shape, x.shape[-1]).reshape(-1, x.shape[-1])
        near = self.nearest(h2)
        diff = self.model.step(h2, x2) - self.model.step(h2, neutral_input(self.model, x2.shape[0]))
        return (self.w_r1[near] * (self.l1[near] * diff).sum(-1)).reshape(shape)

    @torch.no_grad()
    def v_relax(self, h: torch.Tensor, x: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        """Exact persistent valence: relax both branches with zero input and compare readouts."""
        steps = steps or self.relax_steps
        h2, x2 = h.reshape(-1, h.shape[-1]), x.reshape(-1, x.shape[-1])  # matching leading dims
        both = torch.cat([self.model.step(h2, x2), self.model.step(h2, neutral_input(self.model, x2.shape[0]))])
        yy = self.y(relax(self.model, both, steps)).reshape(2, -1)
        return (yy[0] - yy[1]).reshape(h.shape[:-1])

    def v0(self, words: list[str]) -> dict[str, float]:
        """Context-free valence v0(w) = v(h*_ref, E[w]) for in-vocabulary words."""
        return {w: float(self.v0_all[self.vocab.stoi[w]]) for w in words if w in self.vocab}

    # ---- a phrase ---------------------------------------------------------------------------
    def encode(self, tokens: list[str]) -> list[int]:
        """Rows of `inputs` for tokens: vocabulary ids (<unk> for unknown words), NEUTRAL_TOKEN -> x*'s row."""
        return [self.neutral_id if t == NEUTRAL_TOKEN else i for t, i in zip(tokens, self.vocab.encode(tokens))]

    # ---- where a phrase is read from ----------------------------------------------------------
    def attractor_readouts(self) -> torch.Tensor:
        """The readout y(h*) of every attractor point (fixed points, then slow points), in the engine's float64."""
        return self.y(self.points)

    def readout_range(self) -> tuple[float, float]:
        """The lowest and highest readout of the attractor's points: the readouts a "readout" start can reach."""
        y = self.attractor_readouts()
        return float(y.min()), float(y.max())

    @torch.no_grad()
    def start_state(self, start: Start | None = None) -> tuple[torch.Tensor, dict]:
        """(h_0, its description) of a start (core.analysis.start.Start; None: the default) on this engine. The
        description is {"kind", "value", "readout" (y(h_0), what the reading really starts from), "description" (a plain sentence)},
        plus, for a readout start, "point" (its row among the attractor's points), "point_kind" (fixed or slow point),
        "clamped" (the value asked was outside `readout_range`, whose nearest end is used) and "range"; for an "after"
        start, "n_tokens" read first. The "after" text is read whole from h0, with no window, so reading A and then B
        ends exactly where reading the tokens of A followed by those of B does."""
        start = start or Start()
        info: dict = {"kind": start.kind, "value": start.value}
        if start.kind == "default":
            h = self.model.h0.double()
            info["description"] = "the model's initial state h0"
        elif start.kind == "readout":
            ys = self.attractor_readouts()
            lo, hi = float(ys.min()), float(ys.max())
            target = min(max(start.value, lo), hi)
            k = int(torch.argmin((ys - target).abs()))
            h = self.points[k]
            n_fixed = len(self.points) - int(self.summary.get("n_slow_points", 0))
            kind = "fixed point" if k < n_fixed else "slow point"
            info.update(point=k, point_kind=kind, clamped=target != start.value, range=[lo, hi])
            info["description"] = (f"the attractor's {kind} whose readout, {float(ys[k]):+.2f}, is nearest the "
                                   f"{start.value:+.2f} asked" + (f" (beyond the attractor's readouts {lo:+.2f} … "
                                                                  f"{hi:+.2f}: its nearest end)" if info["clamped"] else ""))
        else:
            tokens = tokenize(start.value)
            if len(tokens) > MAX_START_TOKENS:
                raise ValueError(f"the text to read first has {len(tokens):,} tokens; at most {MAX_START_TOKENS:,}")
            h = self.run(self.encode(tokens))[-1]
            quote = start.value if len(start.value) <= QUOTE_CHARS else start.value[:QUOTE_CHARS].rstrip() + "…"
            info["n_tokens"] = len(tokens)
            info["description"] = (f"the state after reading “{quote}” ({len(tokens)} token{'s' * (len(tokens) != 1)}) "
                                   "from the model's initial state")
        info["readout"] = float(self.y(h))
        return h, info

    @torch.no_grad()
    def run(self, ids: list[int], ablate_after: int | None = None, modes: list[int] | str | None = None,
            start: Start | torch.Tensor | None = None) -> torch.Tensor:
        """States h_0..h_T reading rows `ids` of `inputs`; optionally remove slow modes (at h*(h)) right after
        token ablate_after: a list of mode indices (0 = slowest) or "excited" (the modes that token excites).
        start: h_0, as a Start (`start_state`) or a state already resolved; None: the model's h0."""
        x = self.inputs[ids]
        h = (self.start_state(start)[0] if isinstance(start, Start) else self.model.h0 if start is None else start).double()
        hs = [h]
        for t in range(len(ids)):
            h = self.model.step(h, x[t])
            if ablate_after is not None and t == ablate_after and modes:
                h = self.remove_modes(h, self.excited_modes(h) if modes == "excited" else modes)
            hs.append(h)
        return torch.stack(hs)

    def window(self, n_tokens: int) -> dict:
        """The tokens an analysis of an n-token text reads: the model's max_len window (head or tail),
        further cut to the last MAX_TOKENS when the model has no window that short, as {"start", "end",
        "n_text_tokens", "truncated", "model_reads_all"}. With model_reads_all False the model itself
        reads more than the analysis does, so the analysis's P(positive) is not the model's prediction."""
        idx = truncate_tokens(list(range(n_tokens)), self.clf.config.get("max_len"), self.clf.config.get("truncate", "head"))
        cut = len(idx) > MAX_TOKENS
        if cut:
            idx = idx[-MAX_TOKENS:]
        return {"start": idx[0] if idx else 0, "end": idx[-1] + 1 if idx else 0, "n_text_tokens": n_tokens,
                "truncated": len(idx) < n_tokens, "model_reads_all": not cut}

    def model_reads(self, text: str) -> dict:
        """What the model itself reads of a whole text, however long (its max_len window, head or tail, and no
        MAX_TOKENS cut), as {"tokens", "start": the first one's index in the text, "n_text": the text's tokens}:
        a page compares it with the tokens it analysed to say whether its P(positive) is the model's prediction."""
        all_tokens = tokenize(text)
        tail = self.clf.config.get("truncate", "head") == "tail"
        tokens = truncate_tokens(all_tokens, self.clf.config.get("max_len"), "tail" if tail else "head")
        return {"tokens": tokens, "start": len(all_tokens) - len(tokens) if tail else 0, "n_text": len(all_tokens)}

    def coverage(self, result: dict, text: str) -> str | None:
        """Whether `result` (this engine's `phrase` of `text`, or of the part of it a page kept) gives the model's
        own prediction for the whole `text`, in one sentence, or None when it plainly does (every token the model
        reads, analysed as the model reads it). The page and the report say the same thing from here."""
        read = self.model_reads(text)
        toks = [t["token"] for t in result["tokens"]]
        n = len(toks)
        if NEUTRAL_TOKEN in read["tokens"]:
            return (f"{NEUTRAL_TOKEN} is read here as the neutral input x* itself (what Compare's swap writes); the "
                    "model on its own reads it as an unknown word, so P(positive) is not its prediction for this text.")
        if toks != read["tokens"]:   # the model reads more than the analysis (a paste cut short, MAX_TOKENS)
            return (f"The per-token analysis covers {n:,} tokens (numbered 0-{n - 1}) of the {len(read['tokens']):,} "
                    f"that the model reads of this text ({read['n_text']:,} tokens): P(positive) is for that part, "
                    "not the model's prediction for the whole text.")
        if read["n_text"] > n:       # the model's window: the analysis covers exactly that
            chosen = result.get("start", {}).get("kind", "default") != "default"
            return (f"The model reads only tokens {read['start'] + 1:,}-{read['start'] + n:,} of this text's "
                    f"{read['n_text']:,} (its window; numbered 0-{n - 1}): the analysis covers exactly the tokens "
                    "the model reads, so P(positive) is the model's prediction for the whole text"
                    + (" when read from the chosen start." if chosen else "."))
        return None

    def attractor_basis(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, 2 x N principal axes) of the attractor's fixed and slow points, in coordinates divided by
        the state scale (core.analysis.dynamics.attractor_plane): the plane the pages draw the attractor and a phrase's
        trajectory in."""
        return self._basis

    def _pc_basis(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The attractor_basis, computed once when the engine is built (milliseconds)."""
        return attractor_plane(self.points, self.scale, self.w)

    def project(self, h: torch.Tensor) -> torch.Tensor:
        """States (..., N) in the attractor's PC plane (..., 2)."""
        mu, axes = self.attractor_basis()
        return (h.double() / self.scale - mu) @ axes.T

    def reference(self) -> dict:
        """Where the per-token quantities are anchored: h*_ref's readout and stability, with warnings."""
        s = self.summary
        warnings = list(s.get("warnings", [])) + reach_warnings(self.r1[self.ref], self.w)
        return {"readout": s["reference_readout"], "lambda1": s["lambda1_reference"], "kind": s["reference_kind"],
                "stable": s.get("reference_stable", True), "near_zero": s.get("reference_near_zero", True),
                "warnings": warnings}

    def full_modes(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(lam, R rows, L rows) of all N modes at attractor point k, slowest first (computed once per
        point, under a lock: concurrent sessions share the engine)."""
        with self._modes_lock:
            if k not in self._full_modes:
                m = eigenmodes(jacobian_rec(self.model, self.points[k:k + 1])[0].numpy())
                self._full_modes[k] = (torch.from_numpy(m.eigvals), torch.from_numpy(m.R.T.copy()),
                                       torch.from_numpy(m.L))
            return self._full_modes[k]

    def mode_amplitudes(self, h: torch.Tensor) -> tuple[int, torch.Tensor]:
        """(nearest fixed point k, |l_a . (h - h*_k)| for all modes a at h*_k, slowest first)."""
        k = int(self.nearest(h[None])[0])
        _, _, L = self.full_modes(k)
        return k, (L @ (h - self.points[k]).to(torch.complex128)).abs()

    def excited_modes(self, h: torch.Tensor, frac: float = EXCITED_FRACTION) -> list[int]:
        """The transient modes a deflected state excites: amplitude at least frac x the largest one,
        excluding the point's integration mode (the tracked one: mode 0, the slowest, at most points) and, when it
        is one of a complex pair, its partner (removing either
        would erase the valence integrated so far)."""
        _, amp = self.mode_amplitudes(h)
        amp = amp.clone()
        integration = self.with_partners(h, [int(self.mode1[self.nearest(h[None])[0]])])
        amp[integration] = 0.0
        return [int(a) for a in torch.argsort(amp, descending=True)
                if int(a) not in integration and amp[a] >= frac * amp.max()]

    def with_partners(self, h: torch.Tensor, modes: list[int]) -> list[int]:
        """The chosen mode indices at h*(h) plus their complex-conjugate partners (so states stay real)."""
        k = int(self.nearest(h[None])[0])
        lam, _, _ = self.full_modes(k)
        n = lam.shape[0]
        bad = [a for a in modes if not 0 <= a < n]
        if bad:
            raise ValueError(f"mode indices must be in 0..{n - 1} (slowest first); got {bad}")
        sel = set(modes)
        for a in list(sel):
            if abs(float(lam[a].imag)) > COMPLEX_TOL:
                sel.add(int(torch.argmin((lam - lam[a].conj()).abs())))
        return sorted(sel)

    def remove_modes(self, h: torch.Tensor, modes: list[int]) -> torch.Tensor:
        """h -= Re sum_a r_a (l_a . (h - h*)) over the chosen modes at h*(h) (partners included)."""
        k = int(self.nearest(h[None])[0])
        idx = self.with_partners(h, modes)
        _, R, L = self.full_modes(k)
        coef = L[idx] @ (h - self.points[k]).to(torch.complex128)
        return h - (R[idx].T @ coef).real

    @torch.no_grad()
    def phrase(self, text: str, ablate_after: int | None = None, modes: list[int] | str | None = None,
               n_top_modes: int = 3, exact: bool = True, start: Start | None = None) -> dict:
        """Per-token analysis of a text (see the module docstring for the quantities), read from `start`
        (None: the model's h0; every quantity is measured along the trajectory from there, and the result's
        "start" says where that is: `start_state`). exact=False skips v_relax (K relaxation steps
        per token: the slow part), leaving it null."""
        all_tokens = tokenize(text)
        if not all_tokens:
            raise ValueError("the text has no tokens")
        window = self.window(len(all_tokens))
        tokens = all_tokens[window["start"]:window["end"]]
        if ablate_after is not None and not 0 <= ablate_after < len(tokens):
            raise ValueError(f"--ablate-after must be a token index in 0..{len(tokens) - 1}")
        ids = self.encode(tokens)
        h0, start_info = self.start_state(start)
        hs = self.run(ids, start=h0)
        x = self.inputs[ids]
        prev, cur = hs[:-1], hs[1:]
        y = self.y(hs)
        v = self.v(prev, x)
        v_relax = self.v_relax(prev, x) if exact else None
        v0 = torch.cat([self.v0_all, self.v0_all.new_zeros(1)])[ids]   # x* has no valence: v(h, x*) = 0
        near = self.nearest(cur)
        dev = cur - self.points[near]
        n_modes = self.modes_lam.shape[1]    # the slowest modes stored per point (their left vectors: full_modes)
        coef = torch.stack([(self.full_modes(int(k))[2][:n_modes] @ d.to(torch.complex128)).abs()
                            for k, d in zip(near.tolist(), dev)])
        out = []
        for t, tok in enumerate(tokens):
            strong = torch.argsort(coef[t], descending=True)[:n_top_modes].tolist()
            ok = abs(float(v0[t])) > self.valence_threshold
            out.append({
                "index": t, "token": tok, "known": ids[t] != 1,
                "dy": float(y[t + 1] - y[t]), "y": float(y[t + 1]),
                "v": float(v[t]), "v_relax": None if v_relax is None else float(v_relax[t]), "v0": float(v0[t]),
                "linear_ok": None if v_relax is None else bool(
                    abs(float(v[t] - v_relax[t])) <= LINEAR_TOL * max(abs(float(v_relax[t])), self.valence_threshold)),
                "m": float(v[t] / v0[t]) if ok else None,
                "deflection": float(dev[t].norm()),
                "modes": [dict(mode=a, amplitude=float(coef[t, a]), **mode_time(complex(self.modes_lam[near[t], a])))
                          for a in strong],
            })
        pc = self.project(hs)
        res = {"tokens": out, "p_pos": float(torch.sigmoid(y[-1])), "logit": float(y[-1]),
               "change": float(y[-1] - y[0]),   # how far the phrase moved the readout from where it started
               "trajectory_pc": [[float(a), float(b)] for a, b in pc],   # h_0..h_T in the attractor's PC plane
               "valence_threshold": self.valence_threshold, "relax_steps": self.relax_steps,
               "neutral_input": self.neutral, "window": window, "reference": self.reference(), "start": start_info}
        if ablate_after is not None:
            h_at = hs[ablate_after + 1]
            chosen = self.with_partners(h_at, self.excited_modes(h_at) if modes == "excited" else (modes or []))
            hs_abl = self.run(ids, ablate_after, chosen, start=h0)
            res["ablation"] = {"after": ablate_after, "modes": chosen,
                               "p_pos": float(torch.sigmoid(self.y(hs_abl[-1]))),
                               "logit": float(self.y(hs_abl[-1])),
                               "y": [float(v) for v in self.y(hs_abl[1:])]}
        return res


def engine(s: Settings, progress=None, log=None) -> ContextEngine:
    """A ContextEngine on the cached dynamics analysis of a model folder (its weights read once)."""
    clf = load_model(s.path)
    return ContextEngine(clf, dynamics_of(clf, s, progress=progress, log=log))


@torch.no_grad()
def validity(eng: ContextEngine, texts: list[str], max_tokens: int = 4000, seed: int = 0) -> dict:
    """How well the linearised persistent valence v matches the exact v_relax on real text: Pearson
    correlation, sign agreement (where |v_relax| is above the valence threshold) and the median of
    |v - v_relax| / |v_relax| there, over up to max_tokens tokens of the given texts."""
    rng = np.random.default_rng(seed)
    prev, xs = [], []
    n = 0
    for i in rng.permutation(len(texts)):
        ids = eng.clf.encode([texts[i]])[0][:MAX_TOKENS]   # what the model reads (its window)
        if not ids:
            continue
        hs = eng.run(ids)
        prev.append(hs[:-1])
        xs.append(eng.embed[ids])
        n += len(ids)
        if n >= max_tokens:
            break
    if not prev:
        raise ValueError("no tokens in the given texts")
    h, x = torch.cat(prev)[:max_tokens], torch.cat(xs)[:max_tokens]
    v = torch.cat([eng.v(h[i:i + 512], x[i:i + 512]) for i in range(0, h.shape[0], 512)])
    vr = torch.cat([eng.v_relax(h[i:i + 512], x[i:i + 512]) for i in range(0, h.shape[0], 512)])
    big = vr.abs() > eng.valence_threshold
    corr = float(np.corrcoef(v.numpy(), vr.numpy())[0, 1]) if v.std() > 0 and vr.std() > 0 else float("nan")
    lin_state = linearization_error(eng.model, eng.points, h, x, eng.scale)   # as the dynamics summary has it
    lin_step = linearization_step_error(eng.model, eng.points, h, x, eng.scale)
    transient = eng.slowest_transient()
    return {"n_tokens": int(h.shape[0]), "pearson_r": corr,
            "n_valenced": int(big.sum()),
            "sign_agreement": float((torch.sign(v[big]) == torch.sign(vr[big])).float().mean()) if big.any() else None,
            "median_relative_error": float(((v[big] - vr[big]).abs() / vr[big].abs()).median()) if big.any() else None,
            "linearization_error_state_median": float(lin_state.median()),
            "linearization_error_step_median": float(lin_step.median()),
            "relax_steps": eng.relax_steps, "slowest_transient_timescale": transient,
            "relax_steps_needed": None if transient is None else math.ceil(RELAX_TRANSIENTS * transient),
            "neutral_input": eng.neutral}
