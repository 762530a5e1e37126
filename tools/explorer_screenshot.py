"""Regenerate book/_static/explorer-jupyterlab.png: the explorer panel in JupyterLab.

Starts JupyterLab (no token, 127.0.0.1 only) on a copy of notebooks/explorer.ipynb in a temporary
folder (so autosave never touches the committed notebook), runs all cells in headless Chromium,
clicks "Train a small model", waits for the result and screenshots the panel.

    . .venv/bin/activate && python tools/explorer_screenshot.py [--out PATH] [--exposures 100]

Needs Debian's chromium and chromium-driver (see .ci/run) and the notebooks extra.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, what: str, poll: float = 0.5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def chrome(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "book/_static/explorer-jupyterlab.png"))
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the training run")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kcl-lab-"))
    shutil.copy(ROOT / "notebooks/explorer.ipynb", work / "explorer.ipynb")
    port = free_port()
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
         "--LabApp.expose_app_in_browser=True", "--allow-root", f"--ServerApp.root_dir={work}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"},
        start_new_session=True)
    driver = None
    try:
        def up():
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2).status == 200
            except OSError:
                return False
        wait_for(up, 60, "JupyterLab to start")
        driver = chrome(1280, 1100)
        driver.get(f"http://127.0.0.1:{port}/lab/tree/explorer.ipynb")
        wait_for(lambda: driver.execute_script(
            "const a = window.jupyterapp; const w = a && a.shell.currentWidget;"
            "return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
            " && w.sessionContext.session.kernel.status === 'idle');"), 90, "the kernel")
        driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        button = wait_for(lambda: [b for b in driver.find_elements(By.CSS_SELECTOR, "button.jupyter-button")
                                   if "Train" in b.text], 120, "the explorer panel")[0]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()
        wait_for(lambda: any("bits/param" in e.text for e in driver.find_elements(By.CSS_SELECTOR, ".widget-output")),
                 args.timeout, "the training run to finish", poll=2)
        charts = wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, ".jp-RenderedVegaLite svg.marks")), 60,
                          "the Vega-Lite chart to draw in JupyterLab")
        print(f"Vega-Lite charts drawn by JupyterLab: {charts}")
        panel = driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output .widget-vbox")[0]
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", panel)
        time.sleep(1)
        panel.screenshot(args.out)
        print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KB)")
    except Exception:
        if driver:
            driver.save_screenshot(str(work.with_suffix(".debug.png")))
            print(f"debug screenshot: {work.with_suffix('.debug.png')}")
        raise
    finally:
        if driver:
            driver.quit()
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
