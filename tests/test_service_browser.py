"""The web UI in a real browser: Playwright drives Debian's chromium, headless, against `patina serve`.

Logs in, uploads a photo, runs restore, watches the job finish and moves the before/after slider, then
colorizes the photo from its form.
Screenshots go to test-artifacts/browser/. Skips when chromium or Playwright is missing, unless
PATINA_REQUIRE_BROWSER=1 (set by .ci/run), where that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import free_port, start_server
from patina.cli.restore import sample_photo

pytestmark = pytest.mark.slow

TOKEN = "browser-test-token"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    missing = []
    if found is None:
        missing.append("chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install playwright)")
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("PATINA_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found  # type: ignore[return-value]


@pytest.fixture
def server(tmp_path: Path):
    port = free_port()
    process = start_server(port, tmp_path / "data", TOKEN)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


def test_upload_restore_and_compare_in_the_browser(server: str, tmp_path: Path) -> None:
    chromium = _chromium()
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    photo = tmp_path / "grandmother.jpg"
    shutil.copyfile(sample_photo(), photo)  # the bundled sample old photo, 512x512
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(f"{server}/")
            expect(page).to_have_url(re.compile(r"/login"))
            page.fill("#token", "wrong")
            page.click("#login")
            expect(page.get_by_role("alert")).to_contain_text("not right")
            page.fill("#token", TOKEN)
            page.click("#login")
            expect(page.locator(".count")).to_contain_text("0 photographs")

            page.set_input_files("#upload-files", str(photo))
            page.fill("#upload-collection", "Family")
            page.click("#upload-button")
            tile = page.locator(".tile").first
            expect(tile).to_be_visible(timeout=30_000)
            expect(tile).to_contain_text("grandmother.jpg")
            page.screenshot(path=str(ARTIFACTS / "1-gallery.png"), full_page=True)

            tile.click()
            expect(page.locator("h1")).to_have_text("grandmother.jpg")
            page.click("#run-restore")
            job = page.locator("#jobs li").first
            expect(job).to_have_attribute("data-status", re.compile("queued|running|succeeded"))
            page.screenshot(path=str(ARTIFACTS / "2-job-running.png"), full_page=True)
            expect(page.locator("#slider")).to_be_visible(timeout=120_000)  # the page reloads when the job is done
            expect(page.locator("#jobs li").first).to_have_attribute("data-status", "succeeded")
            expect(page.locator("#derivative-select option")).to_have_count(1)

            after = page.locator("#after")
            page.locator("#slider").fill("20")
            expect(after).to_have_attribute("style", re.compile(r"inset\(0(px)? 0(px)? 0(px)? 20%\)"))
            page.evaluate("window.scrollTo(0, 0)")  # filling the slider scrolled it into view
            box = page.locator("#compare").bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2, steps=5)
            page.mouse.up()
            value = int(page.locator("#slider").input_value())
            assert 75 <= value <= 85
            expect(page.locator("#divider")).to_have_attribute("style", re.compile(rf"left: {value}%"))
            assert page.evaluate("document.getElementById('after').naturalWidth") == 512  # the restored preview loaded
            page.screenshot(path=str(ARTIFACTS / "3-compare.png"), full_page=True)

            page.locator("form[data-pipeline=colorize] input[name=strength]").fill("0.9")
            page.click("#run-colorize")
            expect(page.locator("#derivative-select option")).to_have_count(2, timeout=120_000)
            expect(page.locator("#jobs li").first).to_have_attribute("data-status", "succeeded")
            page.screenshot(path=str(ARTIFACTS / "3b-colorized.png"), full_page=True)

            page.fill("input[name=title]", "Grandmother on the pier")
            page.click("#save-metadata")
            expect(page.locator("#metadata-status")).to_have_text("Saved.")
            page.goto(f"{server}/?q=pier")
            expect(page.locator(".tile")).to_have_count(1)
            page.goto(f"{server}/docs")
            expect(page.locator(".swagger-ui")).to_be_visible(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "4-api-docs.png"))
        finally:
            browser.close()
