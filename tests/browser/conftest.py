"""Fixtures for the browser tests: Debian's Chromium through Playwright, and rangeguard processes.

Chromium is Debian's package (``apt-get install chromium``; ``make test``
installs it through tools/system-packages.sh), launched by Playwright with
``executable_path``; no browser is ever downloaded. Screenshots go to
tests/browser/artifacts/.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

import pytest
from rgbrowser import CHROMIUM, CHROMIUM_ARGS, Proc


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's Chromium. `make test` installs it "
            "(tools/system-packages.sh), or: sudo sh -c 'apt-get update && apt-get install -y chromium'."
        )
    return CHROMIUM


@contextlib.contextmanager
def _open_page(chromium_path: Path, extra_args=(), local=("http://127.0.0.1", "ws://127.0.0.1")):
    """A fresh headless Chromium page (own user-data-dir); yields (page, errors) where errors collects
    console errors, page errors, and any request that failed or went to an address not in ``local``."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="rangeguard-chromium-")
    errors: list[str] = []
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(chromium_path),
            args=CHROMIUM_ARGS + list(extra_args),
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = ctx.new_page()
            page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))

            def check_request(r):
                url = r.url
                if not (url.startswith(("data:", "file:", "about:")) or url.startswith(tuple(local))):
                    errors.append(f"network request off this machine: {url}")

            page.on("request", check_request)
            yield page, errors
        finally:
            ctx.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser_page(chromium_path):
    """A fresh headless Chromium page; yields (page, errors) (see _open_page)."""
    with _open_page(chromium_path) as page_errors:
        yield page_errors


@pytest.fixture
def browser_page_with(chromium_path):
    """``open(extra_args, local)``: a page of a Chromium started with extra command-line arguments (e.g.
    ``--host-resolver-rules``), requests allowed to the URL prefixes ``local``; closed at the end of the test."""
    with contextlib.ExitStack() as stack:
        yield lambda extra_args, local: stack.enter_context(_open_page(chromium_path, extra_args, local))


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
