"""A real Streamlit server and a real headless Chromium for end-to-end tests.

Use the `app_page` fixture (defined in conftest.py): it yields a Playwright page already on the app's
start page, with the default model's first prediction drawn. Tests are marked `browser` and skipped
when Chromium or Playwright is missing (CI installs both).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


def browser_available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# How the tests serve the app: loopback only, no browser of its own, no file watcher, no usage statistics.
TEST_OPTIONS = ("--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none")


@contextmanager
def streamlit_server(timeout: float = 120.0, options: tuple[str, ...] = TEST_OPTIONS,
                     env: dict[str, str] | None = None, port: int | None = None) -> Iterator[str]:
    """Start `streamlit run app.py` with `options` on a free port (or `port`); yield its URL; always stop it."""
    port = port or free_port()
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port), *options]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited: {process.stdout.read().decode()[-2000:]}")
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise TimeoutError("streamlit did not become healthy")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def chromium_page(url: str, width: int = 1400, height: int = 1000):
    """A Playwright page in Debian's Chromium (never a downloaded browser)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=120_000)  # a cold model load on 2 busy cores takes tens of seconds
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(120_000)
            page.goto(url)
            yield page
        finally:
            browser.close()


def open_page(page, title: str) -> None:
    """Click a page in the sidebar navigation and wait for its title."""
    from playwright.sync_api import expect

    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible()
