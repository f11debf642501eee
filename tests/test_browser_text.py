"""Text as a reader sees it, in a real browser (issue 18): on a laptop-sized window, no metric value or label is
cut off, every token of a 20-token phrase is named on the Phrase page's token charts, Enter applies the phrase
box, Markdown and HTML typed into the phrase box, the Modifiers words box and the neutral-input box show as typed
(nothing bold, no link or image made of them), and a model-wide warning is one compact line. The Streamlit server
runs as a subprocess with no data and a fresh cache; skipped where Chromium, chromedriver or Selenium are missing,
except with CI_REQUIRE_BROWSER=1."""
from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from core.data.text import tokenize
from core.tools import browser
from tests.helpers import require_browser, wait_for

MODEL = "imdb-gru"        # the default model, whose reference point compresses valences (a model-wide warning)
WINDOW = (1100, 900)      # a laptop with the sidebar open: the main area is about 750 pixels wide
PHRASE = ("The acting was not good and the plot was not very interesting either but I liked the music a lot")
PAYLOAD = "**very** [click me](https://example.com/x) ![img](https://example.com/a.png) :smile: $x$ <b>hi</b>"
WORDS_BOX = "Analyse specific words (comma-separated, optional)"


def made_of_user_text(driver) -> list[str]:
    """Elements Markdown or HTML typed by the user would make: links or images to example.com, bold, italic,
    struck or code text reading a payload's words, LaTeX, the :smile: emoji, a <b> element."""
    return driver.execute_script("""
        const out = [];
        const words = new Set(['very', 'hi', 'the', 'click me', 'img', 'x']);
        // (a link to the Method page carries the phrase, URL-encoded, in its query: not a link made of it)
        for (const e of document.querySelectorAll('a[href*="://example.com"], img[src*="://example.com"], .katex'))
            out.push(e.outerHTML.slice(0, 160));
        for (const e of document.querySelectorAll('strong, em, del, code, b, i'))
            if (words.has(e.textContent.trim())) out.push(e.outerHTML.slice(0, 160));
        if (document.body.innerText.includes('\\u{1F604}')) out.push('the :smile: emoji');
        return out;
    """)


def test_text_shows_in_full_and_as_typed(tmp_path):
    require_browser()
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    (tmp_path / "cache").mkdir()
    (tmp_path / "data").mkdir()
    log = tmp_path / "server.log"
    port = browser.free_port()
    server = browser.start_server(port, {"SENTIMENT_CACHE_DIR": str(tmp_path / "cache"),
                                         "SENTIMENT_DATA_ROOT": str(tmp_path / "data")}, log=log)
    driver = None
    try:
        browser.wait_healthy(port, server)
        driver = browser.make_driver()
        driver.set_window_size(*WINDOW)
        base = f"http://localhost:{port}"

        # Phrase: Enter applies the box; every token of a 20-token phrase is named on every token chart.
        driver.get(f"{base}/phrase?model={MODEL}&text=good")
        browser.wait_idle(driver)
        tokens = tokenize(PHRASE)
        assert len(tokens) == 20
        browser.type_text(driver, "Phrase", PHRASE)       # Enter, in a one-line box
        # (the table's accessible copy holds the rows in view: the first ten or so)
        assert wait_for(lambda: browser.table_column(driver, "token")[:10] == tokens[:10]), \
            f"Enter did not apply the phrase: the table shows {browser.table_column(driver, 'token')}"
        browser.wait_idle(driver)
        time.sleep(1)                                      # the charts' SVG follows the data
        driver.save_screenshot(str(shots / "phrase-20-tokens.png"))
        assert browser.page_errors(driver) == []
        token_charts = [a for a in browser.axis_labels(driver) if a["title"] == "token"]
        assert len(token_charts) >= 3, browser.axis_labels(driver)
        assert browser.unlabelled_tokens(driver, tokens) == []
        assert browser.truncated(driver) == []
        query = parse_qs(urlsplit(driver.current_url).query)
        assert query.get("text") == [PHRASE], driver.current_url
        # The model-wide warning: one compact line, no banner.
        warnings = driver.execute_script("""return Array.from(document.querySelectorAll(
            '[data-testid="stAlertContentWarning"]'), e => e.innerText)""")
        assert not [w for w in warnings if "Reference point" in w], warnings
        labels = driver.execute_script("""return Array.from(document.querySelectorAll(
            '[data-testid="stExpander"] summary'), e => e.innerText)""")
        assert sum("Reference point: valences are compressed" in s for s in labels) == 1, labels

        # Markdown and HTML typed in the phrase box show as typed.
        browser.type_text(driver, "Phrase", PAYLOAD)
        assert wait_for(lambda: browser.table_column(driver, "token")[:3] == ["*", "*", "very"])
        browser.wait_idle(driver)
        driver.save_screenshot(str(shots / "phrase-payload.png"))
        assert made_of_user_text(driver) == []
        assert browser.page_errors(driver) == []

        # ... in the Modifiers words box (on the toy model: measuring typed words exactly takes seconds there).
        driver.get(f"{base}/modifiers?model={MODEL}")
        browser.wait_idle(driver)
        assert browser.truncated(driver) == []
        driver.get(f"{base}/modifiers?model=toy-gru")
        browser.wait_idle(driver)
        browser.type_text(driver, WORDS_BOX, PAYLOAD.replace(" ", ", "))
        browser.wait_idle(driver, timeout=300)
        driver.save_screenshot(str(shots / "modifiers-payload.png"))
        assert made_of_user_text(driver) == []
        assert "very" in browser.table_column(driver, "word"), browser.table_column(driver, "word")
        assert browser.page_errors(driver) == []

        # ... and in the neutral-input box (an unknown filler word: its error repeats it).
        from selenium.webdriver.common.by import By  # lazy: Selenium is an optional extra
        for summary in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebar"] [data-testid="stExpander"] summary'):
            if "Analysis settings" in summary.text:
                summary.click()
        browser.type_text(driver, "Neutral input x*", PAYLOAD)
        browser.wait_idle(driver)
        driver.save_screenshot(str(shots / "neutral-payload.png"))
        assert browser.page_errors(driver), "the unknown neutral input raised no error"
        assert made_of_user_text(driver) == []
        browser.type_text(driver, "Neutral input x*", "")
        browser.wait_idle(driver)

        # Dynamics: many metrics, none cut off on this window.
        driver.get(f"{base}/dynamics?model={MODEL}")
        browser.wait_idle(driver)
        driver.save_screenshot(str(shots / "dynamics.png"))
        assert browser.truncated(driver) == []
    finally:
        if driver is not None:
            driver.quit()
        browser.stop_server(server)
