"""Drive the explorer in a real browser: the Streamlit server as a subprocess and a headless Chromium
through Selenium (used by tests/test_browser.py and `python -m core bench app`).

Selenium is imported inside the functions that need it, so the rest of core/ works without it; install it
with `pip install --no-deps -r requirements-browser.txt` and Debian's `chromium chromium-driver`.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1600,1200", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync")
NAV_LINK = '[data-testid="stSidebarNav"] a, [data-testid="stSidebarNavLink"]'
INSTALL_HINT = ("the browser checks need Selenium and Debian's chromium: "
                "`pip install --no-deps -r requirements-browser.txt` and "
                "`apt-get install -y --no-install-recommends chromium chromium-driver`")


def missing() -> str | None:
    """Why the browser checks cannot run here (no Chromium, chromedriver or Selenium), or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).exists() or shutil.which(Path(path).name)):
            return f"{path} not found; {INSTALL_HINT}"
    try:
        import selenium  # noqa: F401  # lazy: Selenium is an optional extra (browser checks only)
    except ImportError:
        return f"selenium is not installed; {INSTALL_HINT}"
    return None


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, env: dict[str, str] | None = None, log: Path | None = None) -> subprocess.Popen:
    """`streamlit run app.py` headless on `port`, from the repository root, with `env` added to the
    environment; its output goes to `log` (else is discarded)."""
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    kw = {"cwd": ROOT, "env": {**os.environ, **(env or {})}, "stderr": subprocess.STDOUT, "start_new_session": True}
    if log is None:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, **kw)
    with open(log, "wb") as out:      # the server keeps its own copy of the file descriptor
        return subprocess.Popen(cmd, stdout=out, **kw)


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate the server (and what it started), killing it if it does not stop within 10 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, 15)
        proc.wait(10)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        proc.kill()
        proc.wait(10)


def wait_healthy(port: int, proc: subprocess.Popen | None = None, timeout: float = 90.0) -> float:
    """Poll the server's health endpoint until it answers 'ok'; returns the seconds waited. Raises
    RuntimeError if the server process exits or `timeout` passes first."""
    t0 = time.perf_counter()
    url = f"http://localhost:{port}/_stcore/health"
    while time.perf_counter() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the Streamlit server exited with code {proc.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the Streamlit server did not answer {url} within {timeout:.0f} s")


def make_driver():
    """A headless Chromium driven through Debian's chromedriver."""
    try:
        from selenium import webdriver  # lazy: Selenium is an optional extra (browser checks only)
        from selenium.webdriver.chrome.service import Service  # lazy: Selenium is an optional extra (browser checks only)
    except ImportError as e:
        raise RuntimeError(f"selenium is not installed; {INSTALL_HINT}") from e
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or CHROMIUM
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(shutil.which("chromedriver") or CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    return driver


def busy(driver) -> str:
    """Why the app is not idle yet ('' when it is): disconnected, its script running or a rerun pending,
    the running indicator or a spinner showing, or no page content yet."""
    return driver.execute_script("""
        const app = document.querySelector('[data-testid="stApp"]');
        if (!app) return 'no app';
        const conn = app.getAttribute('data-test-connection-state');
        if (conn !== 'CONNECTED') return 'connection ' + conn;
        const script = app.getAttribute('data-test-script-state');
        if (script !== 'notRunning') return 'script ' + script;
        if (document.querySelector('[data-testid="stStatusWidgetRunningIcon"], '
                                   + '[data-testid="stStatusWidgetRunningManIcon"]')) return 'running indicator';
        if (document.querySelector('[data-testid="stSpinner"]')) return 'spinner';
        if (!document.querySelector('[data-testid="stMain"] [data-testid="stElementContainer"]'))
            return 'no content';
        return '';
    """)


def wait_idle(driver, timeout: float = 120.0, settle: float = 0.6) -> float:
    """Wait until the app has been idle (see `busy`) for `settle` seconds in a row; returns the seconds
    until that idle stretch began. Raises TimeoutError after `timeout`."""
    t0 = time.perf_counter()
    idle_since, why = None, ""
    while time.perf_counter() - t0 < timeout:
        now = time.perf_counter()
        why = busy(driver)
        if why:
            idle_since = None
        elif idle_since is None:
            idle_since = now
        elif now - idle_since >= settle:
            return idle_since - t0
        time.sleep(0.05)
    raise TimeoutError(f"the app at {driver.current_url} was still busy ({why}) after {timeout:.0f} s")


def page_errors(driver) -> list[str]:
    """Every exception (its message and traceback) and error box on the page; empty when there is none."""
    return driver.execute_script("""
        const out = [];
        for (const e of document.querySelectorAll('[data-testid="stException"]')) {
            const msg = e.querySelector('[data-testid="stExceptionMessage"]');
            const rows = Array.from(e.querySelectorAll('[data-testid="stExceptionTraceRow"]'), r => r.textContent);
            out.push([(msg || e).textContent.trim(), ...rows].join('\\n'));
        }
        for (const e of document.querySelectorAll('[data-testid="stAlertContentError"]'))
            if (!e.closest('[data-testid="stException"]')) out.push(e.innerText.trim());
        return out;
    """)


def nav_links(driver) -> dict[str, object]:
    """The sidebar navigation links by their visible title (expanding a collapsed list first)."""
    from selenium.webdriver.common.by import By  # lazy: Selenium is an optional extra (browser checks only)
    for more in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavViewButton"]'):
        if "more" in more.text.lower():
            more.click()
    # a link's text is its icon's ligature name, a line break, then its title
    return {a.text.strip().splitlines()[-1]: a for a in driver.find_elements(By.CSS_SELECTOR, NAV_LINK)
            if a.text.strip()}


def pages(driver) -> list[tuple[str, str]]:
    """(title, URL path) of every page in the sidebar navigation, in its order ("" for the default page, served
    at the root): the app says which pages it has (the list lives in ui.navigation, which core does not import)."""
    return [(title, urlsplit(a.get_attribute("href")).path.strip("/")) for title, a in nav_links(driver).items()]


def open_page(driver, title: str, timeout: float = 120.0) -> float:
    """Click the sidebar link `title`, wait for the URL to follow and the page to render; returns the
    seconds it took."""
    from selenium.webdriver.support.ui import WebDriverWait  # lazy: Selenium is an optional extra (browser checks only)
    links = nav_links(driver)
    if title not in links:
        raise LookupError(f"no sidebar link {title!r}; links: {', '.join(links)}")
    href = links[title].get_attribute("href").split("?")[0]
    t0 = time.perf_counter()
    links[title].click()
    WebDriverWait(driver, 10).until(lambda d: d.current_url.split("?")[0] == href)
    wait_idle(driver, timeout)
    return time.perf_counter() - t0


def _labelled(driver, testid: str, label: str):
    """The widget `[data-testid=testid]` whose label reads `label`."""
    from selenium.webdriver.common.by import By  # lazy: Selenium is an optional extra (browser checks only)
    for w in driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]'):
        if w.find_element(By.CSS_SELECTOR, "label").text.strip() == label:
            return w
    raise LookupError(f"no {testid} labelled {label!r}")


def text_area(driver, label: str):
    """The text box labelled `label`: a one-line text input (the phrase boxes, ui.state.text_box) or a text
    area; its <input> or <textarea> element."""
    from selenium.webdriver.common.by import By  # lazy: Selenium is an optional extra (browser checks only)
    try:
        return _labelled(driver, "stTextInput", label).find_element(By.CSS_SELECTOR, "input")
    except LookupError:
        pass
    try:
        return _labelled(driver, "stTextArea", label).find_element(By.CSS_SELECTOR, "textarea")
    except LookupError:
        raise LookupError(f"no text input or text area labelled {label!r}") from None


def type_text(driver, label: str, text: str, commit: bool = True) -> None:
    """Replace the text of the text box `label` (`text_area`), and commit it (`commit_text`) unless `commit` is
    False. Line breaks in `text` are typed as spaces in a one-line box (as a paste into one reads)."""
    from selenium.webdriver.common.keys import Keys  # lazy: Selenium is an optional extra (browser checks only)
    box = text_area(driver, label)
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text if box.tag_name == "textarea" else " ".join(text.splitlines()))
    if commit:
        commit_text(driver, label)


def commit_text(driver, label: str) -> None:
    """Commit the edited text box `label`, which reruns the app: Enter in a one-line box, Ctrl+Enter in a text
    area."""
    from selenium.webdriver.common.keys import Keys  # lazy: Selenium is an optional extra (browser checks only)
    box = text_area(driver, label)
    if box.tag_name == "textarea":
        box.send_keys(Keys.CONTROL, Keys.ENTER)
    else:
        box.send_keys(Keys.ENTER)


def selected(driver, label: str) -> str:
    """The text the selectbox labelled `label` shows."""
    from selenium.webdriver.common.by import By  # lazy: Selenium is an optional extra (browser checks only)
    box = _labelled(driver, "stSelectbox", label)
    return box.find_element(By.CSS_SELECTOR, "input").get_attribute("value").strip()


def select_option(driver, label: str, option: str) -> None:
    """Pick the option starting with `option` in the selectbox labelled `label` (sidebar or main)."""
    from selenium.webdriver.common.by import By  # lazy: Selenium is an optional extra (browser checks only)
    from selenium.webdriver.support.ui import WebDriverWait  # lazy: Selenium is an optional extra (browser checks only)
    _labelled(driver, "stSelectbox", label).find_element(By.CSS_SELECTOR, "input").click()
    find = lambda d: [o for o in d.find_elements(By.CSS_SELECTOR, '[role="option"]')
                      if o.text.strip().startswith(option)]
    WebDriverWait(driver, 10).until(find)[0].click()


# A JS function: the cells under the header `column` in every data table on the page (their accessible copies).
_COLUMN_JS = """
    function column(name) {
        const out = [];
        for (const t of document.querySelectorAll('[data-testid="stDataFrame"] table, [data-testid="stTable"] table')) {
            const i = Array.from(t.querySelectorAll('thead th')).map(h => h.textContent.trim()).indexOf(name);
            if (i < 0) continue;
            for (const row of t.querySelectorAll('tbody tr'))
                if (row.children[i]) out.push(row.children[i].textContent.trim());
        }
        return out;
    }
"""


def table_column(driver, column: str) -> list[str]:
    """The cells under the header `column` in every data table on the page (from the grids' accessible
    copies, which hold the rows in view)."""
    return driver.execute_script(_COLUMN_JS + "return column(arguments[0]);", column)


_DRAWN_JS = _COLUMN_JS + """
    const [want, done] = [arguments[0], arguments[arguments.length - 1]];
    const labels = new Set(want.map((t, i) => i + ': ' + t));
    function chartsDrawn() {   // every token axis names only this phrase's tokens, the widest all of them
        let widest = 0, seen = 0;
        for (const axis of document.querySelectorAll('[data-testid="stVegaLiteChart"] svg g.role-axis')) {
            const title = axis.querySelector('.role-axis-title text');
            if (!title || title.textContent !== 'token') continue;
            const names = Array.from(axis.querySelectorAll('.role-axis-label text'), t => t.textContent);
            if (names.some(n => !labels.has(n))) return false;
            widest = Math.max(widest, names.length); seen++;
        }
        return seen > 0 && widest === want.length;
    }
    let table = null;
    const t0 = performance.now();
    (function poll() {
        if (table === null && JSON.stringify(column('token')) === JSON.stringify(want)) table = performance.now() - t0;
        if (table !== null && chartsDrawn()) return done([table / 1000, (performance.now() - t0) / 1000]);
        if (performance.now() - t0 > 120000) return done(null);
        setTimeout(poll, 5);
    })();
"""


def wait_drawn(driver, tokens: list[str]) -> tuple[float, float]:
    """Wait, inside the page (one call, polling every 5 ms: a poll per Selenium round trip took the page's own
    time and measured it too), until the per-token table shows `tokens` and every chart with a token axis
    (ui.charts.token_axis) is drawn again with them; returns the seconds (until the table, until the charts) from
    the call. TimeoutError after 120 s."""
    driver.set_script_timeout(130)
    got = driver.execute_async_script(_DRAWN_JS, tokens)
    if got is None:
        raise TimeoutError(f"the page did not draw the tokens {tokens} in 120 s")
    return got[0], got[1]


def truncated(driver) -> list[str]:
    """Text the page cuts off: every metric value or label, and every other element of the page (main area and
    sidebar) drawn with an ellipsis (text-overflow or a line clamp), whose text is wider (or taller) than its box,
    as 'where: text' (where: the nearest data-testid, e.g. stMetricValue), and every text of a chart (axis or legend
    label, title) Vega cut short with an ellipsis, as 'chart N: text…'. Empty when everything shows in full."""
    return driver.execute_script("""
        const out = [], hit = [];
        const roots = document.querySelectorAll('[data-testid="stMain"], [data-testid="stSidebar"]');
        const metric = '[data-testid="stMetricValue"], [data-testid="stMetricLabel"]';
        for (const root of roots) for (const e of root.querySelectorAll('*')) {
            if (!e.getClientRects().length || e instanceof SVGElement) continue;      // not drawn, or a chart's
            if (hit.some(h => h.contains(e))) continue;                               // inside one already said
            const cs = getComputedStyle(e);
            const clamp = cs.webkitLineClamp && cs.webkitLineClamp !== 'none';
            if (!(cs.textOverflow === 'ellipsis' || clamp || e.matches(metric))) continue;
            const wide = e.scrollWidth > e.clientWidth + 1, tall = clamp && e.scrollHeight > e.clientHeight + 1;
            let cut = wide || tall;
            if (!cut && e.matches(metric))     // the value's own ellipsis sits on a child
                cut = Array.from(e.querySelectorAll('*')).some(c => getComputedStyle(c).textOverflow === 'ellipsis'
                                                              && c.scrollWidth > c.clientWidth + 1);
            if (!cut || !e.innerText.trim()) continue;
            hit.push(e);
            const where = e.closest('[data-testid]');
            out.push((where ? where.getAttribute('data-testid') : e.tagName.toLowerCase()) + ': '
                     + e.innerText.trim().replace(/\\s+/g, ' '));
        }
        // Vega cuts a chart's axis labels, legend labels and titles past their limit with an ellipsis.
        document.querySelectorAll('[data-testid="stVegaLiteChart"]').forEach((chart, i) => {
            for (const t of chart.querySelectorAll('svg text'))
                if (t.textContent.endsWith('\u2026') && t.getAttribute('opacity') !== '0')
                    out.push(`chart ${i}: ${t.textContent}`);
        });
        return out;
    """)


def axis_labels(driver) -> list[dict]:
    """The axes of the page's charts (Altair/Vega-Lite, drawn as SVG), in page order, as {"chart": its index
    among the page's charts, "axis": "x" or "y", "title": the axis title, "n": how many values the axis has (a
    discrete axis; None for a continuous one), "labels": the labels drawn, "hidden": how many labels Vega hid
    (overlap) or cut short (an ellipsis, labelLimit)}. A chart drawn on a canvas (Streamlit does that above 2,000 points) has no SVG to read
    and is left out."""
    return driver.execute_script("""
        const out = [];
        document.querySelectorAll('[data-testid="stVegaLiteChart"]').forEach((chart, i) => {
            for (const axis of chart.querySelectorAll('svg g.role-axis')) {
                const aria = axis.getAttribute('aria-label') || '';     // Vega's description of the axis
                if (!/^[XY]-axis/.test(aria)) continue;
                const n = aria.match(/discrete scale with (\\d+) values?/);
                const title = axis.querySelector('.role-axis-title text');
                const labels = [];
                let hidden = 0;
                for (const t of axis.querySelectorAll('.role-axis-label text')) {
                    const gone = t.getAttribute('opacity') === '0' || getComputedStyle(t).opacity === '0'
                                 || t.textContent.endsWith('\u2026');
                    if (gone) hidden++; else labels.push(t.textContent);
                }
                out.push({chart: i, axis: aria[0].toLowerCase(), title: title ? title.textContent : '',
                          n: n ? Number(n[1]) : null, labels: labels, hidden: hidden});
            }
        });
        return out;
    """)


def unlabelled_tokens(driver, tokens: list[str], title: str = "token") -> list[str]:
    """Where the page's token charts (an axis titled `title`: ui.charts.token_axis along x, or the tokens down the
    chart of ui.charts.explanation_chart) leave tokens of `tokens` unnamed, as 'chart N: ...'; empty when every
    one is named. A chart of every token must name each, as
    "i: token" (or "token"); a chart of some of them (Phrase's modulation chart: where m is defined) must draw all
    of its axis's labels, none hidden or cut short."""
    out = []
    for axis in axis_labels(driver):
        if axis["title"] != title:
            continue
        shown = set(axis["labels"])
        if axis["n"] == len(tokens):
            missing = [f"{i}: {t}" for i, t in enumerate(tokens) if f"{i}: {t}" not in shown and t not in shown]
            if missing:
                out.append(f"chart {axis['chart']}: not named: {', '.join(missing)}")
        elif axis["hidden"] or (axis["n"] is not None and len(axis["labels"]) < axis["n"]):
            out.append(f"chart {axis['chart']}: {len(axis['labels'])} of {axis['n']} labels drawn "
                       f"({axis['hidden']} hidden or cut short)")
    return out


def choose_radio(driver, label: str, option: str) -> None:
    """Pick the option reading `option` in the radio group labelled `label`."""
    from selenium.webdriver.common.by import By  # lazy: Selenium is an optional extra (browser checks only)
    group = _labelled(driver, "stRadio", label)
    for o in group.find_elements(By.CSS_SELECTOR, "label"):
        if o.text.strip() == option:
            o.click()
            return
    raise LookupError(f"no option {option!r} in the radio group {label!r}")


def download(driver, button: str, folder: Path, timeout: float = 60.0) -> Path:
    """Click the download button reading `button` and return the file the browser saved in `folder` (empty
    before the click)."""
    from selenium.webdriver.common.by import By  # lazy: Selenium is an optional extra (browser checks only)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    found = [b for b in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stDownloadButton"] button')
             if b.text.strip().splitlines()[-1:] == [button]]   # (an icon's ligature may come first)
    if not found:
        raise LookupError(f"no download button {button!r}")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", found[0])
    found[0].click()
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        done = [p for p in Path(folder).iterdir() if not p.name.endswith(".crdownload")]
        if done:
            return done[0]
        time.sleep(0.1)
    raise TimeoutError(f"the browser saved nothing in {folder} within {timeout:.0f} s of clicking {button!r}")
