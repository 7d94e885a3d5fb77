"""Fixtures for the browser tests: Debian's Chromium through Playwright, and rangeguard processes.

Chromium is Debian's package (``apt-get install chromium``; .ci/run installs
it), launched by Playwright with ``executable_path``; no browser is ever
downloaded. Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from rgbrowser import CHROMIUM, CHROMIUM_ARGS, Proc


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: the browser tests need Debian's Chromium. "
                    "Install it with `apt-get update && apt-get install -y chromium` (.ci/run does this).")
    return CHROMIUM


@pytest.fixture
def browser_page(chromium_path):
    """A fresh headless Chromium page (own user-data-dir); yields (page, errors) where errors collects
    console errors, page errors, and any request that left this machine or failed."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="rangeguard-chromium-")
    errors: list[str] = []
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = ctx.new_page()
            page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))

            def check_request(r):
                url = r.url
                if not (url.startswith(("data:", "file:", "about:")) or url.startswith(("http://127.0.0.1", "ws://127.0.0.1"))):
                    errors.append(f"network request off this machine: {url}")

            page.on("request", check_request)
            yield page, errors
        finally:
            ctx.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def processes(tmp_path):
    """Start rangeguard processes with ``start(args, name)``; all are stopped at the end of the test."""
    started: list[Proc] = []

    def start(args: list[str], name: str) -> Proc:
        proc = Proc(args, tmp_path / f"{name}.log")
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        proc.close()
