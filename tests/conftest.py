"""Make `import core` work when pytest runs from the repository root (or anywhere else)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def toy_csv(tmp_path_factory):
    """A small toy-language training file (4,000 sentences), so tests train in seconds."""
    from core.data.toy import generate
    ds = generate(4000, seed=0)
    path = tmp_path_factory.mktemp("toy") / "toy_train.csv"
    path.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in zip(ds.texts, ds.labels)))
    return str(path)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """An analysis cache shared by one test module's tests, never the repository's .cache/."""
    return tmp_path_factory.mktemp("analysis-cache")


@pytest.fixture
def no_data(cache_dir, tmp_path, monkeypatch):
    """The module's temporary analysis cache, and an empty data root: the app must work from the shipped analyses
    alone. A module uses it for every test with `pytestmark = pytest.mark.usefixtures("no_data")`."""
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(cache_dir))
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("SENTIMENT_DATA_ROOT", str(tmp_path / "empty"))
