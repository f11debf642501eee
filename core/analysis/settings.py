"""One request's settings, and the only producer of cache keys.

A `Settings` is built once per request (a CLI command, a page run) with `Settings.of`, which resolves the model
folder, its content checksum and the neutral input x* once, and is then passed whole to every cached entry point
(core.analysis.api, core.analysis.dynamics.dynamics, core.analysis.context.engine, the augmented-BoW fit and
comparison). Every cache key is one of its `*_key` methods, so two callers asking for the same analysis always
meet the same entry, and the keys (and the shipped analyses' file names) are those the engine has always used.

The version numbers below are part of those keys: bump one when what its analysis computes changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.models.store import model_checksum, read_json, resolve_model_dir

SOLVER_VERSION = 7      # fixed points, modes and the reference (core.analysis.dynamics)
MODIFIERS_VERSION = 9   # the modifier analysis (core.analysis.modifiers, core.analysis.modulation)
FIT_VERSION = 5         # the augmented-BoW fit (core.experiments.augmented_fit)
COMPARE_VERSION = 2     # a BoW comparison (core.experiments.compare)
POSITION_VERSION = 2    # the position curves (core.analysis.position): in logits, free asymptote, windows from the data;
                        # 2: the Harrell-Davis median over probe words (the lower sample median drew steps)
Q_TOL = 1e-8            # q below this: a fixed point (part of the dynamics key)
N_MODES = 10            # slowest modes kept per fixed point (part of the dynamics key)
RANDOM_SEED_DATA = "random-words"   # the `data` of a dynamics analysis seeded from random frequent words
DEFAULT_NEUTRAL = "quiet"
DEFAULT_SEEDS = 1000      # fixed-point seeds of the default (shipped) analyses
# The default (shipped) modifier and position analyses: the pages open with these.
MODIFIERS_TOP = 30        # modifiers listed
CURVE_K = 20              # modulation curve M(1..K)
SCREEN_FREQUENT = 5000    # words screened: the N most frequent
POSITION_LENGTH = None    # positions of the beginning and end curves: None, matched to the data (position.window)


def resolve_neutral(model_dir: str | Path, neutral: str | None) -> str:
    """The neutral-input setting to use: the given one, else the model config's "neutral", else "quiet"."""
    if neutral:
        return neutral
    cfg = Path(model_dir) / "config.json"
    return (read_json(cfg).get("neutral") if cfg.exists() else None) or DEFAULT_NEUTRAL


@dataclass(frozen=True)
class Settings:
    """What an analysis of one model is measured with. Frozen and hashable, so it is also the key of the
    app's caches.

    model: the model folder (resolved path); checksum: its content checksum when the settings were built;
    neutral: the neutral input x*, resolved (never None); n_seeds, n_texts, seed: the fixed-point search;
    data: the texts seeding that search as asked (None: the model's training set, see `seed_data`);
    data_root: where named datasets are read from (None: the default)."""
    model: str
    checksum: str
    neutral: str
    n_seeds: int = DEFAULT_SEEDS
    data: str | None = None
    data_root: str | None = None
    n_texts: int = 500
    seed: int = 0

    @classmethod
    def of(cls, model: str | Path, neutral: str | None = None, n_seeds: int = DEFAULT_SEEDS, data: str | None = None,
           data_root: str | None = None, n_texts: int = 500, seed: int = 0) -> "Settings":
        """Resolve a model name or folder, its checksum and the neutral input once (ModelError for a model
        that does not exist)."""
        path = resolve_model_dir(model)
        return cls(str(path), model_checksum(path), resolve_neutral(path, neutral), n_seeds, data, data_root,
                   n_texts, seed)

    @property
    def path(self) -> Path:
        return Path(self.model)

    @property
    def name(self) -> str:
        return self.path.name

    def training_data(self) -> str | None:
        """The dataset the model was trained on (metrics.json), or None where it is not recorded."""
        met = self.path / "metrics.json"
        return read_json(met).get("dataset") if met.exists() else None

    def test_data(self) -> str | None:
        """The model's recorded test set (metrics.json), or None."""
        met = self.path / "metrics.json"
        return read_json(met).get("test_dataset") if met.exists() else None

    def seed_data(self) -> str | None:
        """The texts the fixed-point search starts from: `data`, else the training set."""
        return self.data or self.training_data()

    # -- cache keys ------------------------------------------------------------------------------------
    def dynamics_key(self, data: str) -> dict:
        """A dynamics analysis seeded from `data` (a dataset, or RANDOM_SEED_DATA)."""
        return {"data": data, "n_seeds": self.n_seeds, "n_texts": self.n_texts, "seed": self.seed, "tol": Q_TOL,
                "solver": SOLVER_VERSION, "n_modes": N_MODES, "neutral": self.neutral}

    def _on_dynamics(self, **kw) -> dict:
        """An analysis measured on the dynamics: its key includes the solver version, so a new reference
        point or attractor recomputes every analysis measured there."""
        return {"data": self.data, "n_seeds": self.n_seeds, "neutral": self.neutral, "solver": SOLVER_VERSION, **kw}

    def modifiers_key(self, top: int, words: list[str] | None, K: int, frequent: int | None, select: str,
                      agreement: str | None) -> dict:
        return self._on_dynamics(top=top, words=words, K=K, frequent=frequent, select=select, agreement=agreement,
                                 version=MODIFIERS_VERSION)

    def position_key(self, length: int | None) -> dict:
        """The position curves over `length` positions (None: the window matched to the data's median document,
        which the dynamics analysis in this key fixes)."""
        return self._on_dynamics(length=length, version=POSITION_VERSION)

    def default_keys(self) -> dict[str, list[dict]]:
        """analysis name -> the keys of the analyses the pages open a model with at these settings (what `ship`
        stores): dynamics seeded from the training set (or from random words, where the set was not on the
        shipping machine), modifiers and position with their defaults. Any one key of a list is enough."""
        data = self.seed_data()
        return {"dynamics": [self.dynamics_key(d) for d in (data, RANDOM_SEED_DATA) if d],
                "modifiers": [self.modifiers_key(MODIFIERS_TOP, None, CURVE_K, SCREEN_FREQUENT, "significant",
                                                 self.test_data())],
                "position": [self.position_key(POSITION_LENGTH)]}

    def refusal_key(self) -> tuple:
        """What a 'does not apply' verdict depends on (the weights and the reference point's settings)."""
        return (self.checksum, self.data, self.n_seeds, self.neutral)

    def fit_key(self, variant: str, top: int, epochs: int, batch_size: int, context_lr: float,
                patience: int) -> dict:
        """An augmented-BoW fit next to this RNN, built on its confirmed modifiers and position analyses."""
        return {"variant": variant, "top": top, "epochs": epochs, "batch_size": batch_size, "context_lr": context_lr,
                "patience": patience, "n_seeds": self.n_seeds, "neutral": self.neutral, "data_root": self.data_root,
                "fit": FIT_VERSION, "modifier_selection": "confirmed", "solver": SOLVER_VERSION,
                "modifiers_version": MODIFIERS_VERSION, "position_version": POSITION_VERSION}

    def bigram_key(self, max_len: int | None) -> dict:
        """The bigram bag-of-words reference of a comparison."""
        return {"data_root": self.data_root, "max_len": max_len}

    def compare_key(self, data: str, top: int, epochs: int, batch_size: int, variants: tuple[str, ...],
                    n_boot: int) -> dict:
        """A BoW comparison on the test set `data` (with the engine versions it was measured with). The fits it
        compares are built on the RNN's analyses at these settings: a neutral input or seed count other than the
        model's defaults is part of the key (the defaults are not, so the stored comparisons keep their keys)."""
        key = {"data": data, "top": top, "epochs": epochs, "batch_size": batch_size, "variants": list(variants),
               "n_boot": n_boot, "solver": SOLVER_VERSION, "modifiers": MODIFIERS_VERSION, "version": COMPARE_VERSION}
        if self.neutral != resolve_neutral(self.path, None):
            key["neutral"] = self.neutral
        if self.n_seeds != DEFAULT_SEEDS:
            key["n_seeds"] = self.n_seeds
        return key

    @staticmethod
    def is_current(key: dict) -> bool:
        """Whether a stored comparison was measured with this engine's solver, modifier analysis and comparison."""
        return (key.get("solver"), key.get("modifiers"), key.get("version")) == (SOLVER_VERSION, MODIFIERS_VERSION,
                                                                               COMPARE_VERSION)
