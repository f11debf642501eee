"""The explorer in a real browser: the Streamlit server as a subprocess with no data and a fresh cache, and
one headless Chromium session (Selenium) that opens a deep link first, visits every page through the sidebar,
types a phrase, switches the RNN, reloads, reads from a start picked on the attractor, downloads the report and
opens the Compare view from a link; it fails on any exception, error box or text cut off. Skipped where
Chromium, chromedriver or Selenium are missing, except with CI_REQUIRE_BROWSER=1 (set by .ci/run), where that
fails instead."""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from core.tools import browser
from tests.helpers import require_browser, wait_for
from ui.navigation import PAGES

FIRST, SECOND = "toy-gru", "sst2-gru"    # shipped models: their analyses are in models/<name>/analyses
PHRASE = "not good"


def test_every_page_renders_in_a_browser(tmp_path):
    require_browser()
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    (tmp_path / "cache").mkdir()
    (tmp_path / "data").mkdir()          # empty: the app must work from the shipped analyses alone
    log = tmp_path / "server.log"
    port = browser.free_port()
    server = browser.start_server(port, {"SENTIMENT_CACHE_DIR": str(tmp_path / "cache"),
                                         "SENTIMENT_DATA_ROOT": str(tmp_path / "data")}, log=log)
    driver = None
    problems: list[str] = []

    def check(where: str) -> None:
        """Record the page's exceptions, error boxes and text cut off (a metric value ending in "…"); every page
        is visited before the test fails."""
        problems.extend(f"{where}: {e}" for e in browser.page_errors(driver))
        problems.extend(f"{where}: cut off: {t}" for t in browser.truncated(driver))

    try:
        browser.wait_healthy(port, server)
        driver = browser.make_driver()
        base = f"http://localhost:{port}"
        # A shared link is the first request this server gets: the app's own navigation, not Streamlit's
        # automatic one (lower-case file names, links that drop the query), and the link's model and text.
        driver.get(f"{base}/phrase?model={FIRST}&text={PHRASE.replace(' ', '+')}")
        browser.wait_idle(driver)
        assert browser.pages(driver) == [(p.title, p.url_path) for p in PAGES], \
            f"a deep link opened first shows the sidebar {browser.pages(driver)}"
        assert browser.selected(driver, "RNN model").startswith(FIRST), "the URL's model was not chosen"
        assert wait_for(lambda: browser.table_column(driver, "token") == PHRASE.split()), \
            f"the deep link's phrase shows tokens {browser.table_column(driver, 'token')}"
        check("a deep link opened first")
        driver.save_screenshot(str(shots / "00-deep-link-first.png"))
        driver.get(f"{base}/?model={FIRST}")
        browser.wait_idle(driver)

        assert browser.pages(driver) == [(p.title, p.url_path) for p in PAGES], \
            "the sidebar's pages are not ui.navigation.PAGES"
        for i, title in enumerate((p.title for p in PAGES), 1):
            browser.open_page(driver, title)
            check(title)
            if title == "Phrase":
                browser.type_text(driver, "Phrase", PHRASE)
                tokens = wait_for(lambda: browser.table_column(driver, "token") == PHRASE.split())
                browser.wait_idle(driver)
                assert tokens, f"the per-token table shows {browser.table_column(driver, 'token')}, not {PHRASE!r}"
                check(f"{title} after typing {PHRASE!r}")
            driver.save_screenshot(str(shots / f"{i:02d}-{re.sub(r'[^a-z]+', '-', title.lower())}.png"))

        browser.open_page(driver, "Phrase")
        browser.select_option(driver, "RNN model", SECOND)
        browser.wait_idle(driver)
        check(f"Phrase on {SECOND}")
        assert browser.selected(driver, "RNN model").startswith(SECOND)
        assert wait_for(lambda: browser.table_column(driver, "token") == PHRASE.split()), \
            f"Phrase on {SECOND} shows tokens {browser.table_column(driver, 'token')}"

        driver.refresh()
        browser.wait_idle(driver)
        check("Phrase after a reload")
        query = parse_qs(urlsplit(driver.current_url).query)
        assert query.get("model") == [SECOND] and query.get("text") == [PHRASE], driver.current_url
        assert browser.selected(driver, "RNN model").startswith(SECOND), "the reload lost the model"
        assert browser.text_area(driver, "Phrase").get_attribute("value") == PHRASE, "the reload lost the text"
        assert wait_for(lambda: browser.table_column(driver, "token") == PHRASE.split())
        driver.save_screenshot(str(shots / f"{len(PAGES) + 1:02d}-phrase-{SECOND}-reloaded.png"))

        # A start state picked on the attractor: the page says where the reading starts, and the link keeps it.
        browser.choose_radio(driver, "Start from", "a point on the attractor")
        browser.wait_idle(driver)
        check("Phrase read from a point on the attractor")
        assert wait_for(lambda: "Read from the attractor's" in driver.find_element("tag name", "body").text), \
            "Phrase does not say it reads from a point on the attractor"
        assert parse_qs(urlsplit(driver.current_url).query).get("start", [""])[0].startswith("readout:"), \
            driver.current_url
        driver.save_screenshot(str(shots / f"{len(PAGES) + 2:02d}-phrase-start-on-the-attractor.png"))

        # The report to hand out: one self-contained file of this analysis, with no script in it.
        (tmp_path / "downloads").mkdir()
        report = browser.download(driver, "Report (HTML)", tmp_path / "downloads")
        html = report.read_text(encoding="utf-8")
        assert report.suffix == ".html" and "<script" not in html.lower() and html.count("<svg") >= 4
        assert all(t in html for t in PHRASE.split()) and "Start state" in html   # the start picked above

        # The Compare view, opened from a link that carries both phrases.
        driver.get(f"{base}/compare?model={SECOND}&text=good&text2=not+good")
        browser.wait_idle(driver)
        check("Compare")
        assert browser.text_area(driver, "Phrase A").get_attribute("value") == "good"
        assert browser.text_area(driver, "Phrase B").get_attribute("value") == "not good"
        assert wait_for(lambda: browser.table_column(driver, "token B")[:2] == ["not", "good"]), \
            f"Compare shows tokens {browser.table_column(driver, 'token B')}"
        driver.save_screenshot(str(shots / f"{len(PAGES) + 3:02d}-compare.png"))
        assert not problems, f"errors shown in the browser (server log: {log}):\n\n" + "\n\n".join(problems)
    finally:
        if driver is not None:
            driver.quit()
        browser.stop_server(server)
