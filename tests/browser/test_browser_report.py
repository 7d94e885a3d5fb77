"""The HTML report of `rangeguard demo` opened in headless Chromium: maps and plots render, offline, no errors.

The demo is flown for real (six closed-loop flights, as `rangeguard demo`
does), the report written by `rangeguard report`, and the file opened from
disk. Every image must have loaded (``complete`` and a non-zero natural
size) and be drawn at a non-zero size; the page must log no error and ask
for nothing over the network. A screenshot of the top of the report and of
the F2 section is kept in tests/browser/artifacts/.
"""

from __future__ import annotations

import json

import pytest
from rgbrowser import ARTIFACTS

from rangeguard.cli.app import main
from rangeguard.demo import RUNS, run_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    run_demo(out)
    assert main(["report", str(out)]) == 0
    return out / "report.html"


def test_browser_report_renders_maps_and_plots_offline(demo_report, browser_page):
    page, errors = browser_page
    page.goto(demo_report.as_uri())
    page.wait_for_load_state("load")
    images = page.evaluate(
        """() => Array.from(document.images).map(im => ({alt: im.alt, complete: im.complete,
             w: im.naturalWidth, h: im.naturalHeight, shownW: im.getBoundingClientRect().width,
             shownH: im.getBoundingClientRect().height, src: im.src.slice(0, 22)}))"""
    )
    # each run has a map, a profile and a timeline; terminated runs add a close-up map
    summaries = json.loads((demo_report.parent / "demo.json").read_text())
    n_terminated = sum(r["terminated"] for r in summaries)
    assert n_terminated == 3  # F1 strict, F2, F3 under 1oo2 (DESIGN.md: the three Kairos terminations)
    assert len(images) == 3 * len(RUNS) + n_terminated
    for im in images:
        assert im["complete"] and im["w"] > 100 and im["h"] > 100, im
        assert im["shownW"] > 100 and im["shownH"] > 50, im
        assert im["src"] == "data:image/png;base64,", im
    alts = [im["alt"] for im in images]
    assert alts.count("map of the flight") == len(RUNS)
    assert alts.count("flight profile plots") == len(RUNS)
    assert alts.count("decision timeline") == len(RUNS)
    # the F2 section says what fired
    f2 = page.locator("h2#f2-nozzle-validated-health_degraded")
    assert f2.count() == 1
    text = page.inner_text("body")
    assert "TERMINATED at T+" in text and "iip-corridor" in text
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    assert errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-demo-top.png"))
    f2.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "report-demo-f2.png"))
    assert (ARTIFACTS / "report-demo-f2.png").stat().st_size > 10_000
