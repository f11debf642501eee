"""`python -m core ship`: store a model's default analyses (and BoW comparisons) in its `analyses/` folder,
so a clone with no dataset opens every page at once."""
from __future__ import annotations

import time

from core.analysis.api import dynamics, modifiers, position
from core.analysis.dynamics import model_reach_warnings
from core.analysis.settings import Settings
from core.experiments.augmented_fit import FitOptions
from core.experiments.compare import compare
from core.storage.cache import SHIPPED_DIR


def ship(model: str, data_root: str | None = None, log=None, compare_on: list[str] | None = None,
         sweep: list[int] | None = None) -> list[str]:
    """Write compact copies of the analyses the pages open with (default settings) into the model's
    `analyses/` folder, computing what the local cache lacks; returns the files written. `compare_on`:
    test sets to compare the bag-of-words variants on (all variants, default K), and `sweep`: numbers of
    modifiers K to compare mod_fixed and full at too (the BoW-vs-RNN page's K sweep)."""
    s = Settings.of(model, data_root=data_root)
    path = s.path
    start = time.time()
    dyn = dynamics(s, log=log, ship=True)
    # Where the integration mode misses the readout, nothing that divides by v0 is shipped (an older copy,
    # an artefact then, is removed below); checked here too because a local cache may hold such a copy. The
    # modifiers ship either way: there they are measured on the real recurrence, their valence too.
    reach = model_reach_warnings(dyn, path)
    modifiers(s, log=log, ship=True)
    if reach:
        (log or print)(f"{path.name}: position and comparisons not shipped: {reach[0]}")
    else:
        position(s, log=log, ship=True)
    if compare_on and not reach:
        for data in compare_on:
            compare(s, data, log=log or (lambda m: None), ship=True)
            for k in sweep or []:
                compare(s, data, FitOptions(top=k), variants=("bow", "mod_fixed", "full"),
                        log=log or (lambda m: None), ship=True)
    # Copies for older settings or code versions of what was just written go; comparisons stay unless new
    # ones were made (they are listed with the analysis versions they were measured with).
    written = ("dynamics", "modifiers", "position") + (("compare",) if compare_on else ())
    for old in (path / SHIPPED_DIR).glob("*.pt"):
        if old.stat().st_mtime < start and old.name.split("-")[0] in written:
            old.unlink()
    return sorted(str(f) for f in (path / SHIPPED_DIR).glob("*.pt"))
