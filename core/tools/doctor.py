"""`python -m core doctor`: check that this installation can run the explorer, and say how to fix what cannot.

Each check gives OK, WARN (works, but something is missing or will be slow) or FAIL (something will
break), with the detail and the fix. The checks: Python and the packages against requirements.txt's
pins; torch and the batched Cholesky solve the fixed-point solver uses (in a subprocess with a timeout:
the known oneMKL hang of batched LU must not come back); every model folder (it loads; an RNN's shipped
analyses exist under the settings the app opens with, and every shipped file reads); the data root; the
analysis cache (writable; unreadable entries and leftover temp files); the Streamlit config; the optional
browser-test tools. Everything heavy is imported inside its check, so a broken torch is a FAIL line, not
a traceback.
"""
# lazy imports: doctor must still run, and say what is missing, where a package is broken.
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parents[2]
MIN_PYTHON = (3, 10)
CHOLESKY_TIMEOUT_S = 60
# A batched Cholesky solve as core.analysis.dynamics.solve_fixed_points does it; prints the worst residual.
CHOLESKY_CODE = (
    "import torch\n"
    "g = torch.Generator().manual_seed(0)\n"
    "A = torch.randn(64, 32, 32, dtype=torch.float64, generator=g)\n"
    "M = A.transpose(1, 2) @ A + 1e-3 * torch.eye(32, dtype=torch.float64)\n"
    "b = torch.randn(64, 32, 1, dtype=torch.float64, generator=g)\n"
    "chol, info = torch.linalg.cholesky_ex(M)\n"
    "x = torch.cholesky_solve(b, chol)\n"
    "print(int(info.abs().sum()), float((M @ x - b).abs().max()))\n"
)


@dataclass
class Check:
    """One line of the report."""
    check: str
    status: str   # OK, WARN or FAIL
    detail: str
    fix: str = ""


def ok(check: str, detail: str) -> Check:
    return Check(check, "OK", detail)


def warn(check: str, detail: str, fix: str) -> Check:
    return Check(check, "WARN", detail, fix)


def fail(check: str, detail: str, fix: str) -> Check:
    return Check(check, "FAIL", detail, fix)


# ---- installation -----------------------------------------------------------------------------------
def pins(path: Path) -> dict[str, str]:
    """name -> pinned version of a requirements file's `name==version` lines."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            out[name.strip()] = version.strip()
    return out


def check_python() -> Iterator[Check]:
    v = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        yield fail("python", f"Python {v}", f"use Python {'.'.join(map(str, MIN_PYTHON))} or newer")
    else:
        yield ok("python", f"Python {v} ({sys.executable})")


def check_packages(requirements: Path = ROOT / "requirements.txt") -> Iterator[Check]:
    """Every pinned package installed, at its pinned version (a local tag such as +cpu is ignored)."""
    from importlib.metadata import PackageNotFoundError, version
    fix = f"python -m pip install -r {requirements.name}"
    try:
        wanted = pins(requirements)
    except OSError as e:
        yield fail("packages", f"{requirements}: cannot read ({e.strerror or e})", "restore requirements.txt from git")
        return
    missing, other = [], []
    for name, pinned in sorted(wanted.items()):
        try:
            have = version(name)
        except PackageNotFoundError:
            missing.append(f"{name}=={pinned}")
            continue
        if have.split("+", 1)[0] != pinned:
            other.append(f"{name} {have} (pinned {pinned})")
    if missing:
        yield fail("packages", f"not installed: {', '.join(missing)}", fix)
    if other:
        yield warn("packages", f"versions differ from {requirements.name}: {', '.join(other)}", fix)
    if not missing and not other:
        yield ok("packages", f"{len(wanted)} packages at the versions pinned in {requirements.name}")


def check_torch() -> Iterator[Check]:
    """torch imports, and a batched Cholesky solve finishes (a subprocess: a hang must not hang doctor)."""
    try:
        import torch
    except Exception as e:  # ImportError, or a broken binary (OSError)
        yield fail("torch", f"cannot import torch ({type(e).__name__}: {e})", "python -m pip install -r requirements.txt")
        return
    yield ok("torch", f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    try:
        r = subprocess.run([sys.executable, "-c", CHOLESKY_CODE], capture_output=True, text=True,
                           timeout=CHOLESKY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        yield fail("batched solve", f"a batched Cholesky solve of 64 32x32 systems did not finish in "
                   f"{CHOLESKY_TIMEOUT_S} s (the oneMKL hang)",
                   "do not call torch.set_num_threads; run with OMP_NUM_THREADS=1 or reinstall torch from requirements.txt")
        return
    try:
        bad, residual = r.stdout.split()
        good = r.returncode == 0 and int(bad) == 0 and float(residual) < 1e-6
    except ValueError:
        good, residual = False, "?"
    if good:
        yield ok("batched solve", f"batched Cholesky solve runs (residual {float(residual):.1e})")
    else:
        yield fail("batched solve", f"the batched Cholesky solve failed: {(r.stderr or r.stdout).strip()[-300:]}",
                   "reinstall torch at the version in requirements.txt")


# ---- models -------------------------------------------------------------------------------------------
def app_settings(path: Path) -> dict[str, list[dict]]:
    """analysis name -> the settings the app's pages open an RNN with: the default Settings' default_keys
    (what `ship` writes: dynamics on the model's dataset, or random words when it was not on the shipping machine;
    modifiers and position with their defaults, 1,000 seeds, default x*)."""
    from core.analysis.settings import Settings
    return Settings.of(path).default_keys()


def not_applicable(path: Path) -> bool:
    """Whether the model's stored default dynamics put its integration mode off the readout (w . r_1 = 0), so that
    the modifier and position analyses do not apply and none are shipped."""
    from core.analysis.dynamics import model_reach_warnings, stored_dynamics
    from core.analysis.settings import Settings
    dyn = stored_dynamics(Settings.of(path))
    return dyn is not None and bool(model_reach_warnings(dyn, path))


def check_analyses(path: Path, kind: str) -> Iterator[Check]:
    """An RNN's default analyses shipped under the current checksum and settings; every shipped file readable."""
    from core.storage.cache import SHIPPED_DIR, entry_file, entry_problem
    from core.models.store import ModelError, model_checksum
    name, folder = path.name, path / SHIPPED_DIR
    ship_fix = f"python -m core ship {name} (or restore models/{name}/{SHIPPED_DIR}/ from git)"
    bad = [f"{f.name}: {p}" for f in sorted(folder.glob("*.pt")) if (p := entry_problem(f))]
    if bad:
        yield warn(f"analyses {name}", f"unreadable shipped analyses (ignored, recomputed when needed): {'; '.join(bad)}",
                   f"delete them and run {ship_fix}")
    if kind != "rnn":
        if not bad:
            yield ok(f"analyses {name}", f"{len(list(folder.glob('*.pt')))} shipped analyses read")
        return
    try:
        wanted = app_settings(path)
    except ModelError as e:   # the dynamics' settings name the dataset recorded in metrics.json
        yield warn(f"analyses {name}", f"cannot tell which analyses the app needs: {e}",
                   f"restore models/{name}/metrics.json from git")
        return
    checksum = model_checksum(path)
    absent = []
    for analysis, variants in wanted.items():
        files = [folder / entry_file(checksum, analysis, s) for s in variants]
        if not any(f.exists() and entry_problem(f) is None for f in files):
            absent.append(analysis)
    if absent and "dynamics" not in absent and not_applicable(path):   # nothing to ship for them: said so
        absent = [a for a in absent if a not in ("modifiers", "position")]
        if not absent and not bad:
            yield ok(f"analyses {name}", "dynamics shipped for the app's settings; modifiers and position do not "
                                         "apply there (the integration mode does not reach the readout)")
            return
    if absent:
        yield warn(f"analyses {name}", f"no shipped {', '.join(absent)} for these weights and the app's settings: "
                   "its pages solve for them on first use (minutes, and the model's dataset helps)", ship_fix)
    elif not bad:
        yield ok(f"analyses {name}", "dynamics, modifiers and position shipped for the app's settings")


def check_models(models_dir: Path) -> Iterator[Check]:
    """Every folder of models_dir loads; the app lists it; an RNN's shipped analyses are there."""
    from core.models.store import ModelError, is_inside, is_model_name, load_model, read_json
    if not models_dir.is_dir():
        yield fail("models", f"{models_dir}: no such folder", "restore models/ from git, or train a model (README)")
        return
    folders = sorted(d for d in models_dir.iterdir() if d.is_dir() and not d.name.startswith("."))
    n_rnn = 0
    for d in folders:
        check = f"model {d.name}"
        restore = (f"restore it with `git checkout -- {d}` or retrain it with the command in its metrics.json; "
                   f"or move the folder out of {models_dir}")
        if not (d / "config.json").exists():
            yield warn(check, f"{d}: not a model folder (no config.json); ignored", restore)
            continue
        try:
            clf = load_model(d)
        except ModelError as e:
            yield fail(check, str(e), restore)
            continue
        except Exception as e:  # anything else is a bug in a loader: still one line, with what it was
            yield fail(check, f"{d}: loading raised {type(e).__name__}: {e}", restore)
            continue
        hidden = None
        if not is_model_name(d.name):
            hidden = "its name is not a plain model name (letters, digits, '.', '_', '-')"
        elif not is_inside(d, models_dir):
            hidden = "it is a symlink leading outside the models folder"
        else:
            try:
                if (d / "metrics.json").exists():
                    read_json(d / "metrics.json")
            except ModelError as e:
                hidden = f"{e}"
        if hidden:
            yield warn(check, f"loads, but the app does not list it: {hidden}", restore)
        else:
            yield ok(check, f"{clf.kind} ({clf.config.get('arch', clf.kind)}), {len(clf.vocab):,} words")
        n_rnn += clf.kind == "rnn"
        yield from check_analyses(d, clf.kind)
    if not n_rnn:
        yield fail("models", f"{models_dir}: no RNN model loads, so the explorer has nothing to analyse",
                   "restore models/ from git, or train one: python -m core train --name toy-gru --data toy-long:train")


# ---- environment ------------------------------------------------------------------------------------
def check_data_root() -> Iterator[Check]:
    """Informational: which named datasets are on this machine (the pages need none: analyses are shipped)."""
    from core.data.loaders import NAMED, data_root
    root = data_root()
    found = sorted(name for name, rel in NAMED.items() if (root / rel).exists())
    if found:
        yield ok("data root", f"{root}: {len(found)} of {len(NAMED)} named datasets ({', '.join(found)})")
    else:
        yield ok("data root", f"{root}: no datasets (optional: the app uses the shipped analyses; training, "
                 "evaluation and new analyses need them; set SENTIMENT_DATA_ROOT or --data-root)")


def check_cache() -> Iterator[Check]:
    """The cache folder is writable; unreadable entries and temp files of interrupted writes are counted."""
    import os
    import tempfile
    from core.storage.cache import cache_dir, entry_problem
    folder = cache_dir()
    fix = f"set SENTIMENT_CACHE_DIR to a writable folder (now {folder})"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".doctor.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        yield fail("cache", f"{folder}: not writable ({e.strerror or e}); new analyses could not be stored", fix)
        return
    entries = sorted(folder.glob("*.pt"))
    bad = [f.name for f in entries if entry_problem(f)]
    leftovers = sorted(folder.glob(".*.tmp"))
    if bad or leftovers:
        yield warn("cache", f"{folder}: {len(entries)} entries, {len(bad)} unreadable ({', '.join(bad[:5])}"
                   f"{', ...' if len(bad) > 5 else ''}), {len(leftovers)} temp files of interrupted writes; "
                   "unreadable entries are ignored and recomputed",
                   f"delete them: rm {' '.join(str(folder / n) for n in bad[:5])}{' ...' if len(bad) > 5 else ''}"
                   f"{' ' + str(folder) + '/.*.tmp' if leftovers else ''}")
    else:
        yield ok("cache", f"{folder}: writable, {len(entries)} entries, all readable")


def check_streamlit_config(path: Path = ROOT / ".streamlit" / "config.toml") -> Iterator[Check]:
    """.streamlit/config.toml exists and parses (`streamlit run app.py` reads it)."""
    import tomllib
    if not path.exists():
        yield warn("streamlit config", f"{path}: missing (Streamlit's defaults: usage statistics on, 200 MB uploads)",
                   f"restore it: git checkout -- {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        return
    try:
        cfg = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as e:
        yield fail("streamlit config", f"{path}: unreadable ({e})", "fix the TOML or restore it from git")
        return
    upload = cfg.get("server", {}).get("maxUploadSize", "default")
    yield ok("streamlit config", f"{path}: maxUploadSize {upload} MB, theme {cfg.get('theme', {}).get('base', 'default')}")


def check_browser_tools() -> Iterator[Check]:
    """Optional: Chromium, chromedriver and Selenium for tests/test_browser.py and `bench app`."""
    from core.tools.browser import missing
    why = missing()
    if why:
        yield warn("browser tools", f"optional, for the real-browser test: {why.split(';')[0]}", why.split("; ", 1)[-1])
    else:
        yield ok("browser tools", "chromium, chromedriver and selenium found")


# ---- running ----------------------------------------------------------------------------------------
def checks(models_dir: Path) -> Iterator[Check]:
    """Every check, in report order; a check that crashes becomes a FAIL line naming the exception."""
    steps: list[tuple[str, Callable[[], Iterator[Check]]]] = [
        ("python", check_python), ("packages", check_packages), ("torch", check_torch),
        ("models", lambda: check_models(models_dir)), ("data root", check_data_root), ("cache", check_cache),
        ("streamlit config", check_streamlit_config), ("browser tools", check_browser_tools)]
    for name, step in steps:
        try:
            yield from step()
        except Exception as e:
            yield fail(name, f"the check itself failed: {type(e).__name__}: {e}", "report this as a bug")


def add_parser(sub) -> argparse.ArgumentParser:
    """The `doctor` subcommand on the CLI's subparsers."""
    from core.models.store import MODELS_DIR
    d = sub.add_parser("doctor", help="check the installation, models, cache and config; say how to fix problems")
    d.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="the models folder to check (default models/)")
    d.add_argument("--json", action="store_true", help="a list of {check, status, detail, fix}")
    return d


def run(args: argparse.Namespace) -> int:
    """Print every check; exit status 0 when none FAILs, else 1."""
    results = []
    for c in checks(Path(args.models_dir)):
        results.append(c)
        if not args.json:
            print(f"{c.status:<5} {c.check:<24} {c.detail}", flush=True)
            if c.fix:
                print(f"{'':<5} {'':<24} fix: {c.fix}", flush=True)
    if args.json:
        print(json.dumps([asdict(c) for c in results], indent=1, ensure_ascii=False))
    else:
        n = {s: sum(c.status == s for c in results) for s in ("OK", "WARN", "FAIL")}
        print(f"\n{n['OK']} OK, {n['WARN']} WARN, {n['FAIL']} FAIL")
    return 1 if any(c.status == "FAIL" for c in results) else 0
