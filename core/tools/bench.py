"""Benchmarks that print figures (speed targets live here, not in timed tests)."""
from __future__ import annotations

import os
import statistics
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

from core.analysis.context import engine
from core.analysis.dynamics import as_float64, neutral_vector, solve_fixed_points, speed_q, visited_states
from core.analysis.settings import Q_TOL, Settings
from core.analysis.modifiers import probe_words, screen
from core.data.loaders import load_dataset
from core.data.text import tokenize
from core.experiments.train import resolve_device, resolve_path
from core.models.rnn import SentimentRNN
from core.models.store import load_model
from core.tools import browser


def _throughput(model: SentimentRNN, forward, ids, lengths, labels, steps: int, warmup: int = 3) -> float:
    """Training tokens/s of `forward` after `warmup` steps (the fused CPU kernels build their primitives
    over the first few steps of a new shape: timing from step 1 made them look 3x slower than they are)."""
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    sync = torch.cuda.synchronize if ids.is_cuda else (lambda: None)
    for i in range(warmup + steps):
        if i == warmup:
            sync()
            t0 = time.perf_counter()
        loss = F.binary_cross_entropy_with_logits(forward(ids, lengths), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    sync()
    return ids.numel() * steps / (time.perf_counter() - t0)


def bench_train(model_name: str | None = None, seq_len: int = 200, batch_size: int = 64, steps: int = 5,
                device: str = "cpu", arch: str = "gru") -> dict:
    """Training tokens/s of the fused path and of the step-function path on the same model and device, and
    the path `train --path auto` takes there."""
    dev = resolve_device(device)
    if model_name:
        clf = load_model(model_name)
        if clf.kind != "rnn":
            raise ValueError(f"{model_name} is a {clf.kind} model; the training benchmark needs an RNN")
        cfg, V = clf.config, len(clf.vocab)
        arch, d, H = cfg["arch"], cfg["embed_dim"], cfg["hidden_size"]
    else:
        V, d, H = 20000, 128, 128
    torch.manual_seed(0)
    model = SentimentRNN(V, arch, d, H).to(dev)
    ids = torch.randint(2, V, (batch_size, seq_len), device=dev)
    lengths = torch.full((batch_size,), seq_len, device=dev)
    labels = torch.randint(0, 2, (batch_size,), device=dev).float()
    fast = _throughput(model, model.forward, ids, lengths, labels, steps)
    step = _throughput(model, model.forward_step, ids, lengths, labels, steps)
    return {"arch": arch, "device": dev.type, "vocab_size": V, "embed_dim": d, "hidden_size": H,
            "batch_size": batch_size, "seq_len": seq_len, "threads": torch.get_num_threads(),
            "fast_tokens_per_s": fast, "step_tokens_per_s": step, "ratio": fast / step,
            "auto_path": resolve_path("auto", dev, arch)}


def bench_fixed_points(s: Settings, adam_lr: float = 1e-2, adam_cap_s: float = 600.0, log=None) -> dict:
    """Seconds to bring the same seeds to q < 1e-8 (s.n_seeds states visited on s.seed_data()): this project's
    solver vs plain Adam on q."""

    clf = load_model(s.path)
    model = as_float64(clf.model, neutral_vector(clf, s.neutral))
    texts = load_dataset(s.seed_data(), s.data_root).texts
    rng = np.random.default_rng(s.seed)
    texts = [texts[i] for i in sorted(rng.choice(len(texts), min(500, len(texts)), replace=False))]
    _, _, states = visited_states(model, [q for q in clf.encode(texts) if q], seed=s.seed)
    seeds = states[torch.randperm(states.shape[0], generator=torch.Generator().manual_seed(s.seed))[:s.n_seeds]]
    t0 = time.perf_counter()
    _, q = solve_fixed_points(model, seeds)
    ours_s = time.perf_counter() - t0
    ours_conv = float((q < Q_TOL).float().mean())
    # Plain Adam on q, as the existing fixed-point tools do (one independent q per seed).
    h = seeds.clone().requires_grad_(True)
    opt = torch.optim.Adam([h], lr=adam_lr)
    t0 = time.perf_counter()
    steps, adam_conv, reached = 0, 0.0, None
    while True:
        q = speed_q(model, h)
        adam_conv = float((q.detach() < Q_TOL).float().mean())
        elapsed = time.perf_counter() - t0
        if adam_conv >= ours_conv and reached is None:
            reached = elapsed
        if reached is not None or elapsed > adam_cap_s:
            break
        opt.zero_grad()
        q.sum().backward()
        opt.step()
        steps += 1
        if log and steps % 500 == 0:
            log(f"adam step {steps}: {adam_conv:.1%} converged, {elapsed:.0f} s")
    adam_s = reached if reached is not None else time.perf_counter() - t0
    return {"model": clf.name, "n_seeds": int(seeds.shape[0]), "tolerance": Q_TOL, "neutral_input": s.neutral,
            "ours_seconds": round(ours_s, 2), "ours_converged": ours_conv,
            "adam_seconds": round(adam_s, 2), "adam_converged": adam_conv, "adam_steps": steps,
            "adam_lr": adam_lr, "adam_reached_our_share": reached is not None,
            "speedup": round(adam_s / ours_s, 2), "threads": torch.get_num_threads()}


def bench_context(s: Settings, n_runs: int = 20) -> dict:
    """Per-token analysis latency (100 tokens, median of n_runs; `phrase_ms_median` without the
    exact v_relax check, `phrase_exact_ms_median` with it), full-vocabulary modifier screen time,
    and peak resident memory."""
    import resource  # lazy: POSIX-only module, read only where it is measured

    eng = engine(s)
    rng = torch.Generator().manual_seed(0)
    words = [eng.vocab.itos[int(i)] for i in torch.randint(2, min(len(eng.vocab), 2000), (100,), generator=rng)]
    text = " ".join(words)
    n_tokens = len(eng.phrase(text, exact=False)["tokens"])

    def median_ms(exact: bool, runs: int) -> float:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            eng.phrase(text, exact=exact)
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)

    phrase_ms = median_ms(False, n_runs)
    exact_ms = median_ms(True, max(3, n_runs // 5))
    t0 = time.perf_counter()
    probe_ids, probe_v0 = probe_words(eng)
    screen(eng, probe_ids, probe_v0)
    screen_s = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"model": s.name, "phrase_tokens": n_tokens, "phrase_ms_median": phrase_ms,
            "phrase_exact_ms_median": exact_ms,
            "screen_seconds": screen_s, "vocab_size": len(eng.vocab), "n_probe": len(probe_ids),
            "peak_mb": peak_mb, "relax_steps": eng.relax_steps, "threads": torch.get_num_threads()}


APP_EDITS = ("a very good film", "the plot was not bad at all", "never boring , always moving", "bad",
             "not very interesting either", "it is not a good movie", "wonderful")


def bench_app(model_name: str = "toy-gru", edits: int = 5, log=None) -> dict:
    """The app through the real Streamlit server and a headless Chromium (core.tools.browser).

    first_render_seconds: per page (the default page, then every page its sidebar lists), from starting a fresh
    server (fresh cache dir, empty data root) to the page's first complete render, opened directly by its URL on
    `model_name`. new_session_seconds: per page, on one running server that has drawn every page once, a new
    browser session (a new page load) opened on the page's URL until it is drawn and idle. update_seconds: on
    the warm Phrase page, from committing an edited phrase until its table shows the new tokens and every
    token-axis chart is drawn again with them (median of `edits`; update_table_seconds: until the table alone;
    update_idle_seconds: until the app is idle too)."""

    reason = browser.missing()
    if reason:
        raise RuntimeError(reason)
    if edits > len(APP_EDITS) - 1:
        raise ValueError(f"at most {len(APP_EDITS) - 1} edits")
    first, ready, errors, new_session = {}, [], {}, {}
    tables, charts, idles = [], [], []
    driver = browser.make_driver()
    pages = [("", "")]   # (title, URL path): the default page at the root first; its sidebar lists the others

    def fresh_env(tmp: str) -> dict[str, str]:
        os.mkdir(f"{tmp}/cache")
        os.mkdir(f"{tmp}/data")
        return {"SENTIMENT_CACHE_DIR": f"{tmp}/cache", "SENTIMENT_DATA_ROOT": f"{tmp}/data"}

    def edit_phrase() -> None:
        for i, text in enumerate(APP_EDITS[:edits + 1]):   # the first edit warms up
            browser.type_text(driver, "Phrase", text, commit=False)
            want = tokenize(text)
            t1 = time.perf_counter()
            browser.commit_text(driver, "Phrase")
            sent = time.perf_counter() - t1
            table, drawn = (sent + t for t in browser.wait_drawn(driver, want))
            idle = time.perf_counter() + browser.wait_idle(driver) - t1
            if i:
                tables.append(table)
                charts.append(drawn)
                idles.append(idle)
        if log:
            log("Phrase updates (table / charts drawn / app idle): "
                + ", ".join(f"{a:.2f}/{b:.2f}/{c:.2f}" for a, b, c in zip(tables, charts, idles)) + " s")

    try:
        for title, path in pages:   # grows once, after the first page
            with tempfile.TemporaryDirectory() as tmp:
                env = fresh_env(tmp)
                port = browser.free_port()
                t0 = time.perf_counter()
                server = browser.start_server(port, env)
                try:
                    ready.append(browser.wait_healthy(port, server))
                    driver.get(f"http://localhost:{port}/{path}?model={model_name}")
                    t1 = time.perf_counter()
                    seconds = t1 + browser.wait_idle(driver, timeout=600) - t0
                    if not path:
                        listed = browser.pages(driver)
                        title = next((t for t, p in listed if not p), "Start")
                        pages[0] = (title, "")
                        pages += [(t, p) for t, p in listed if p]
                    first[title] = seconds
                    if log:
                        log(f"{title}: first render {first[title]:.1f} s")
                    page_errors = browser.page_errors(driver)
                    if page_errors:
                        errors[title] = page_errors
                    if title == "Phrase":
                        edit_phrase()
                finally:
                    browser.stop_server(server)
        with tempfile.TemporaryDirectory() as tmp:
            port = browser.free_port()
            server = browser.start_server(port, fresh_env(tmp))
            try:
                browser.wait_healthy(port, server)
                for _, path in pages:     # every page drawn once: the server's caches are warm
                    driver.get(f"http://localhost:{port}/{path}?model={model_name}")
                    browser.wait_idle(driver, timeout=600)
                for title, path in pages:
                    driver.get("about:blank")
                    t0 = time.perf_counter()
                    driver.get(f"http://localhost:{port}/{path}?model={model_name}")
                    new_session[title] = time.perf_counter() + browser.wait_idle(driver, timeout=600) - t0
                if log:
                    log("New sessions: " + ", ".join(f"{t} {s:.2f}" for t, s in new_session.items()) + " s")
            finally:
                browser.stop_server(server)
        browser_version = driver.capabilities.get("browserVersion")
    finally:
        driver.quit()

    def per_page(d: dict) -> dict:
        return {**{k: round(v, 2) for k, v in d.items()}, "max": round(max(d.values()), 2)}

    return {"model": model_name, "device": "cpu",
            "first_render_seconds": per_page(first), "slowest_page": max(first, key=first.get),
            "new_session_seconds": per_page(new_session),
            "update_seconds": round(statistics.median(charts), 3),
            "update_table_seconds": round(statistics.median(tables), 3),
            "update_idle_seconds": round(statistics.median(idles), 3), "edits": edits,
            "server_ready_seconds": round(statistics.median(ready), 2), "page_errors": errors,
            "browser": f"chromium {browser_version}"}