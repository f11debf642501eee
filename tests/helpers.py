"""What several test files share: the app opened in AppTest from a link (the `no_data` fixture in conftest.py gives
it a temporary analysis cache and an empty data root), and the real-browser tests' guard and polling."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.tools import browser

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_app(page: str | None = None, model: str | None = "toy-gru", text: str | None = None) -> AppTest:
    """The app opened from a URL with ?model=...(&text=...) (no model: the app's default), on the given page."""
    at = AppTest.from_file(APP, default_timeout=300)
    if model is not None:
        at.query_params["model"] = model
    if text is not None:
        at.query_params["text"] = text
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, at.exception
    return at


def require_browser() -> None:
    """Skip where Chromium, chromedriver or Selenium are missing; fail instead under CI_REQUIRE_BROWSER=1."""
    reason = browser.missing()
    if reason and os.environ.get("CI_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CI_REQUIRE_BROWSER=1 but {reason}")
    if reason:
        pytest.skip(reason)


def wait_for(predicate, timeout: float = 60.0):
    """Poll `predicate` until it returns something true; returns that, or the last value after `timeout`."""
    end = time.perf_counter() + timeout
    while True:
        value = predicate()
        if value or time.perf_counter() > end:
            return value
        time.sleep(0.1)
