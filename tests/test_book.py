"""The book builds from the committed records, and its pages draw offline in headless Chromium.

One build per session (``site`` fixture, about a minute on 2 cores): `python -m kcl.book.assets`,
then `jupyter-book build` into a temporary folder, every page executed (cpu profile, no training).
The browser tests need Debian's chromium and chromium-driver (`.ci/run` installs them); without
them they skip, saying so, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CDN = re.compile(r"cdn\.jsdelivr|cdnjs\.cloudflare|unpkg\.com|cdn\.plot\.ly|code\.jquery|googleapis")
ALLOWED_CONSOLE = ("THEBE_JS_URL",)  # sphinx-thebe's double declaration (dropped by kcl.book.sphinx_offline anyway)
#: Vega's warnings that mean a chart drew wrongly: a value ≤ 0 on a log axis puts every mark on one edge
VEGA_FAULTS = ("Log scale domain includes zero",)

pytest.importorskip("jupyter_book", reason="the book extra is not installed (make install)")

from kcl.book.assets import chapter_notebooks  # noqa: E402 (after the skip: the book extra)
from kcl.book.claims import chapter_label  # noqa: E402

pytestmark = pytest.mark.slow  # starts processes or builds: make test runs it, pytest -m "not slow" skips it


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [c["file"] for c in part["chapters"]]
    return pages


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([sys.executable, "-m", "kcl.book.assets"], cwd=ROOT, check=True, env=env)
    build = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--all",
                            "--path-output", str(out)], cwd=ROOT, env=env, capture_output=True, text=True)
    log = re.sub(r"\x1b\[[0-9;]*m", "", build.stdout + build.stderr)
    print(log[-5000:])
    assert build.returncode == 0, f"the book build failed:\n{log[-8000:]}"
    assert "Executing notebook failed" not in log
    return out / "_build" / "html"


@pytest.mark.timeout(900)
def test_every_toc_page_is_built(site):
    for page in toc_pages():
        assert (site / f"{page}.html").is_file(), page
    assert (site / "index.html").is_file()


def test_no_page_refers_to_a_cdn(site):
    pages = [p for p in site.rglob("*.html") if "_static" not in p.parts]
    assert pages
    offenders = {str(p.relative_to(site)): CDN.findall(p.read_text(errors="replace")) for p in pages}
    assert not {k: v for k, v in offenders.items() if v}


def test_runs_csv_is_offered(site):
    from kcl.book.catalog import runs_table

    assert (site / "runs.csv").read_text() == (ROOT / "book/_generated/runs.csv").read_text()
    downloads = list((site / "_downloads").rglob("runs.csv"))
    assert downloads, "book/runs.md's download link was not built"
    assert len((site / "runs.csv").read_text().strip().splitlines()) == len(runs_table(ROOT / "results")) + 1
    assert "_downloads/" in (site / "book/runs.html").read_text()


def test_glued_numbers_come_from_the_record(site):
    from kcl.book.calibration import verdict
    from kcl.book.chapters import CHAPTERS, chapter_records

    (record,) = chapter_records("reference", "cpu", log=lambda _: None)
    html = (site / "notebooks/reference.html").read_text()
    assert f"{record.result.R:.3f}" in html and f"{record.result.params.total:,}" in html
    outcome = verdict(record, CHAPTERS["reference"].threshold).outcome
    assert re.findall(r"Verdict: ([a-z ]+)</strong>", html) == [outcome]


@pytest.mark.parametrize("chapter", chapter_notebooks(ROOT))
def test_the_first_page_and_the_protocol_page_paste_each_chapters_verdicts(site, chapter):
    import json

    glued = json.loads((site.parent / "jupyter_execute" / "notebooks" / f"{chapter}.glue.json").read_text())
    table = glued["verdicts"]["data"]["text/html"]  # every verdict (kcl.book.stats.verdicts_styled)
    assert re.search(r"<th [^>]*>verdict</th>", table)
    assert re.search(r"<td [^>]*>(reproduced|partly reproduced|not reproduced|inconclusive|no verdict yet)", table)
    assert table in (site / "book/protocol.html").read_text()
    intro = (site / "book/intro.html").read_text()
    text = intro.replace("\u2019", "'")  # Sphinx's curly apostrophes
    # the chapter's compact table (stats.headline_styled) is its part of the first page's table of claims
    # (kcl.book.claims): the same figures, intervals and verdicts, a held-back note shortened
    from verdict_snapshot import table_rows

    claims_table = next(t for t in re.findall(r"<table.*?</table>", text, flags=re.S) if "per non-embedding" in t)
    rows = table_rows(claims_table)[1:]
    leads = {n: chapter_label(n) + ": " for n in chapter_notebooks(ROOT)}  # each chapter's name leads its first claim
    first = next(i for i, row in enumerate(rows) if row[0].startswith(leads[chapter]))
    end = next((i for i in range(first + 1, len(rows)) if any(rows[i][0].startswith(lead) for lead in leads.values())),
               len(rows))
    shown = [row[1:] for row in rows[first:end]]  # this chapter's rows: paper, ours, per non-embedding, verdict
    headline = table_rows(glued["headline"]["data"]["text/html"].replace("\u2019", "'"))[1:]
    assert len(shown) == len(headline), chapter
    for (claim, target, ours, non_embedding, verdict), row in zip(headline, shown):
        assert [target, ours, non_embedding, verdict] == row, (chapter, claim)
    assert glued["summary"]["data"]["text/plain"].strip("'\"") in text
    assert glued["reading"]["data"]["text/plain"].strip("'\"") in text


def test_every_chapters_verdict_table_is_the_snapshots(site):
    """Claims, targets, figures, intervals and verdicts of every chapter as committed in
    tests/snapshots/verdicts.json (``verdict_snapshot``): a change of code that moves any of them
    fails here; a change of records or rules rewrites the snapshot in its own commit."""
    import json

    from verdict_snapshot import SNAPSHOT, table_rows

    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert list(expected) == chapter_notebooks(ROOT)
    for chapter in expected:
        glued = json.loads((site.parent / "jupyter_execute" / "notebooks" / f"{chapter}.glue.json").read_text())
        assert table_rows(glued["verdicts"]["data"]["text/html"]) == expected[chapter], chapter


# -- headless Chromium --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        why = "Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI", "").lower() == "true":  # CI must run every browser check: .ci/run installs them
            pytest.fail(f"CI=true but the browser checks cannot run: {why}")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--window-size=1280,1600", "--disable-background-networking", "--disable-component-update"):
        options.add_argument(arg)
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def wait_for(condition, timeout: float = 15.0):
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > end:
            return value
        time.sleep(0.2)


def open_page(driver, site: Path, page: str) -> int:
    """Load a page, wait until every chart drew, return the number of charts."""
    driver.get((site / f"{page}.html").as_uri())
    charts = len(driver.find_elements("css selector", "div.kcl-vega"))
    wait_for(lambda: len(driver.find_elements("css selector", ".vega-embed svg.marks")) >= charts)
    return charts


@pytest.mark.parametrize("page", toc_pages())
def test_every_chart_draws_offline(browser, site, page):
    charts = open_page(browser, site, page)
    drawn = len(browser.find_elements("css selector", ".vega-embed svg.marks"))
    assert drawn == charts, f"{page}: {drawn} of {charts} charts drew"
    # a spec that Vega cannot lay out still leaves an empty svg about 20 px tall (and logs "ERROR")
    heights = browser.execute_script(
        "return [...document.querySelectorAll('.vega-embed')].filter(e => e.offsetParent !== null)"  # shown ones
        ".map(e => Math.round(e.getBoundingClientRect().height))")
    assert all(h > 60 for h in heights), f"{page}: a chart drew nothing ({heights} px tall)"
    assert not browser.find_elements("css selector", ".kcl-vega-error")
    if page in ("notebooks/reference", "book/explorer"):
        assert charts >= 1
    errors = [e["message"] for e in browser.get_log("browser")
              if (e["level"] == "SEVERE" and not any(a in e["message"] for a in ALLOWED_CONSOLE))
              or any(fault in e["message"] for fault in VEGA_FAULTS)]
    assert not errors, errors
    remote = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('file:'))")
    assert not remote, f"{page} requested {remote}"


OVERFLOW_JS = """
const column = document.querySelector('article.bd-article') || document.querySelector('main');
const right = column.getBoundingClientRect().right + 1;
const scrolls = el => { for (let p = el.parentElement; p && p !== column; p = p.parentElement) {
  const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; };
return [...column.querySelectorAll('.vega-embed svg, img, table, pre, .math')]
  .filter(el => !scrolls(el) && el.getBoundingClientRect().right > right)
  .map(el => el.tagName + ' ' + (el.className.baseVal ?? el.className) + ' ' + Math.round(el.getBoundingClientRect().right - right) + 'px');
"""
CUT_LEGEND_JS = """
return [...document.querySelectorAll('.vega-embed svg .role-legend-label text, .vega-embed svg .role-axis-label text')]
  .map(t => t.textContent).filter(t => t.endsWith('…'));
"""


@pytest.mark.parametrize("width", [1280, 420])
@pytest.mark.parametrize("page", toc_pages())
def test_nothing_is_wider_than_the_text_column(browser, site, page, width):
    """Every chart, table, picture and formula fits the page's column at a laptop's and at a phone's
    width (a table may scroll inside its own box); no legend or axis label is cut short."""
    browser.set_window_size(width, 1600)
    try:
        open_page(browser, site, page)
        assert browser.execute_script(OVERFLOW_JS) == []
        assert browser.execute_script(CUT_LEGEND_JS) == []
    finally:
        browser.set_window_size(1280, 1600)


SCROLLING_TABLES_JS = """
const column = document.querySelector('article.bd-article') || document.querySelector('main');
return [...column.querySelectorAll('table.kcl-wrap, table.dataframe:not(.kcl-table)')]
  .filter(t => { const box = getComputedStyle(t).display === 'block' ? t : t.parentElement;
                 return box.scrollWidth > box.clientWidth + 1; })
  .map(t => t.className + ' (' + t.rows[0].cells.length + ' columns): ' + (t.rows[0].innerText || '').slice(0, 40));
"""


@pytest.mark.parametrize("page", toc_pages())
def test_verdict_and_point_tables_fit_the_column_without_scrolling(browser, site, page):
    """At a laptop's width a verdict table and a point table (up to ``plots.WRAP_COLUMNS`` columns)
    wrap their cells to fit the text column; only the tables of every run's fields scroll."""
    open_page(browser, site, page)
    assert browser.execute_script(SCROLLING_TABLES_JS) == []


def test_formulas_are_typeset_offline(browser, site):
    browser.get((site / "book/bits.html").as_uri())
    formulas = len(browser.find_elements("css selector", ".math"))
    assert formulas >= 3  # Theorem 3.2, Definitions 4.1 and 4.3
    assert wait_for(lambda: len(browser.find_elements("css selector", ".math mjx-container")) == formulas)


def test_moving_a_slider_changes_the_explorer(browser, site, tmp_path):
    assert open_page(browser, site, "book/explorer") == 1
    svg = lambda: browser.execute_script("return document.querySelector('.vega-embed svg.marks').outerHTML")
    before = svg()
    assert "K=4," in before
    slider = browser.execute_script(
        "return [...document.querySelectorAll('.vega-bind')].find(b => b.textContent.includes('K (attributes)'))"
        ".querySelector('input[type=range]')")
    browser.execute_script("arguments[0].value = 20; arguments[0].dispatchEvent(new Event('input'));", slider)
    assert wait_for(lambda: "K=20," in svg()), "the readout did not follow the K slider"
    shown = browser.execute_script(  # a log10 slider shows no long log10 number; the readout gives the knob
        "return [...document.querySelectorAll('.vega-bind input[type=range]')]"
        ".filter(i => i.name.startsWith('lg')).map(i => i.nextElementSibling.offsetParent !== null)")
    assert shown and not any(shown)
    after = svg()
    assert after != before
    from kcl.book.explorer import bit_content

    total = bit_content(1000, 20, 4, 64, 1, 64)["total"]  # the page's defaults with K = 20
    assert f"total: {total:,.0f} bits" in after
    shots = ROOT / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(shots / "explorer.png"))
