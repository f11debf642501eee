"""The artefact budget (docs/architecture.md, "Artefacts: the budget"): what models/ may hold, so that the repository
stops growing by a full copy of the shipped analyses with every engine version."""
from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
MiB = 1024 * 1024
BUDGET = 125 * MiB       # models/ in all: 113.9 MiB (119,420,794 bytes) when the budget was set
FILE_LIMIT = 25 * 1000 * 1000   # any one file: a larger one is a sign of something shipped that the pages do not read


def model_files() -> list[Path]:
    """The files under models/ that a commit would carry: tracked, or new and not ignored (a model being added
    counts before it is committed). Without git (an unpacked archive): every file."""
    try:
        done = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "models"],
                              cwd=ROOT, capture_output=True, check=True, timeout=60)
        names = [n for n in done.stdout.decode("utf-8", "surrogateescape").split("\0") if n]
    except (OSError, subprocess.SubprocessError):
        names = None
    if not names:
        return [p for p in MODELS.rglob("*") if p.is_file()]
    return [ROOT / n for n in names if (ROOT / n).is_file()]


def test_models_stay_within_the_budget():
    files = model_files()
    assert files, "no files under models/"
    total = sum(p.stat().st_size for p in files)
    biggest = sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:5]
    assert total <= BUDGET, (
        f"models/ holds {total / MiB:.1f} MiB, over its budget of {BUDGET / MiB:.0f} MiB. Follow the rule in "
        "docs/architecture.md (shipped analyses keep only what the pages and the CLI read; re-ship once per issue) "
        "before raising the budget. Largest: " + ", ".join(f"{p.relative_to(ROOT)} {p.stat().st_size / MiB:.1f} MiB"
                                                           for p in biggest))


def test_no_single_file_is_huge():
    big = [f"{p.relative_to(ROOT)} ({p.stat().st_size / 1e6:.1f} MB)" for p in model_files()
           if p.stat().st_size > FILE_LIMIT]
    assert big == [], f"files over {FILE_LIMIT / 1e6:.0f} MB in models/: {', '.join(big)}"
