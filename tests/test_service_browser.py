"""The web UI in a real browser: Playwright drives Debian's chromium, headless, against `patina serve`.

Login; drag-and-drop upload with per-file progress; presets and typed settings; a bad value refused beside its
field before any job exists; the job's progress and result beside the Run button, with no page reload (an edit
typed meanwhile survives); the compare view fitted to the picture, slider, side by side, zoom to 1:1 and pan by
keyboard; a run on a whole collection; the jobs page (thumbnails, names, filter); every page at 390 px.
Screenshots go to test-artifacts/browser/. Skips when chromium or Playwright is missing, unless
PATINA_REQUIRE_BROWSER=1 (set by .ci/run), where that is a failure.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image as PILImage

from conftest import free_port, start_server
from patina.cli.restore import sample_photo

pytestmark = pytest.mark.slow

TOKEN = "browser-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
RUN_TIMEOUT = 120_000


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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    process = start_server(port, tmp_path_factory.mktemp("served") / "data", TOKEN)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _page(browser: Any, server: str, viewport: dict[str, int] = DESKTOP) -> Any:
    """A new logged-in page (the login form with the token; the browser gets a session cookie)."""
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(f"{server}/login")
    page.fill("#token", TOKEN)
    page.click("#login")
    page.wait_for_url(f"{server}/")
    return page


def _jpeg(size: tuple[int, int], seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = (np.linspace(40, 210, size[0])[None, :, None] + rng.normal(0, 10, (size[1], size[0], 3))).clip(0, 255)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels.astype(np.uint8)).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def _upload(server: str, name: str, data: bytes, collection: str | None = None) -> int:
    form = {"collection": collection} if collection else {}
    response = httpx.post(f"{server}/api/items", headers=AUTH, data=form,
                          files=[("files", (name, data, "image/jpeg"))])
    response.raise_for_status()
    return int(response.json()["items"][0]["id"])


def _jobs(server: str) -> list[dict[str, Any]]:
    return httpx.get(f"{server}/api/jobs", headers=AUTH, params={"limit": 1000}).json()


def _keys_open_the_file_input(page: Any, zone: str, file_input: str, key: str) -> None:
    """Focus ``zone``, press ``key`` and check that it clicked ``file_input`` (what opens the file chooser).

    The click is counted and its default cancelled, so no chooser opens: waiting for Chromium's chooser was
    flaky on 2 busy cores (none came within 30 s, and a late one blocks the next), and the chooser is the
    browser's part, not ours."""
    from playwright.sync_api import expect

    page.eval_on_selector(file_input, """input => {
        window.fileInputClicks = 0;
        input.addEventListener("click", event => { window.fileInputClicks += 1; event.preventDefault(); });
    }""")
    page.locator(zone).focus()
    expect(page.locator(zone)).to_be_focused()
    page.keyboard.press(key)
    page.wait_for_function("window.fileInputClicks === 1", timeout=15_000)


def test_login_and_drag_and_drop_upload_with_progress_per_file(browser: Any, server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_context(viewport=DESKTOP).new_page()
    page.goto(f"{server}/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("#token", "wrong")
    page.click("#login")
    expect(page.get_by_role("alert")).to_contain_text("not right")
    page.fill("#token", TOKEN)
    page.click("#login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Gallery")

    page.fill("#upload-collection", "Dropped")
    files = [("pier.jpg", _jpeg((96, 64), 1)), ("mill.jpg", _jpeg((64, 96), 2)), ("notes.txt", b"not a photo")]
    transfer = page.evaluate_handle("""files => {
        const transfer = new DataTransfer();
        for (const [name, bytes] of files) transfer.items.add(new File([new Uint8Array(bytes)], name));
        return transfer;
    }""", [[name, list(data)] for name, data in files])
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    rows = page.locator("#upload-list li")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("added", timeout=30_000)
    expect(rows.nth(1)).to_contain_text("added", timeout=30_000)
    expect(rows.nth(2)).to_contain_text("not added", timeout=30_000)
    for index in range(3):  # each file had its own progress bar, now full
        assert rows.nth(index).locator("progress").evaluate("bar => bar.value") == 1
    expect(page.locator(".tile")).to_have_count(2)  # the new photos appear without a reload
    page.screenshot(path=str(ARTIFACTS / "1-upload-dropped.png"), full_page=True)

    assert page.locator("#drop-zone").get_attribute("tabindex") == "0"  # reachable from the keyboard
    _keys_open_the_file_input(page, "#drop-zone", "#upload-files", "Enter")
    page.set_input_files("#upload-files", str(sample_photo()))  # what choosing a file in the chooser does
    expect(page.locator(".tile")).to_have_count(3, timeout=30_000)
    page.close()


def test_run_a_preset_with_progress_beside_the_button_and_no_reload(browser: Any, server: str) -> None:
    from playwright.sync_api import expect

    item = _upload(server, "grandmother.jpg", sample_photo().read_bytes())
    page = _page(browser, server)
    page.goto(f"{server}/items/{item}")
    page.evaluate("window.stillThisPage = true")  # gone if the page reloads
    expect(page.locator("#derivative-select")).to_be_disabled()

    page.get_by_label("Gentle restore").check()
    page.click("#advanced summary")
    expect(page.locator("#restore-strength")).to_have_value("0.5")  # the preset's value in the typed control
    expect(page.locator("fieldset[data-pipeline=colorize]")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "2-presets-and-settings.png"), full_page=True)

    page.click("#run-button")
    page.fill("#meta-title", "Grandmother at Zoutelande")  # typed while the job runs, not saved
    status = page.locator("#run-status")
    expect(status).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT)
    expect(status.locator(".result a")).to_contain_text("Open the new version", timeout=30_000)
    assert page.evaluate("window.stillThisPage") is True
    expect(page.locator("#meta-title")).to_have_value("Grandmother at Zoutelande")  # the edit survived
    expect(page.locator("#derivative-select option")).to_have_count(1)
    expect(page.locator("#downloads li")).to_have_count(2)
    assert page.evaluate("document.getElementById('after').naturalWidth") == 512  # the result is shown
    page.screenshot(path=str(ARTIFACTS / "3-result-beside-the-button.png"), full_page=True)
    page.click("#save-metadata")
    expect(page.locator("#metadata-status")).to_have_text("Saved.")
    page.goto(f"{server}/?q=zoutelande")
    expect(page.locator(".tile")).to_have_count(1)
    page.close()


def test_a_bad_value_is_shown_beside_its_field_and_nothing_is_queued(browser: Any, server: str) -> None:
    from playwright.sync_api import expect

    item = _upload(server, "bad-value.jpg", _jpeg((80, 60), 3))
    page = _page(browser, server)
    page.goto(f"{server}/items/{item}")
    page.click("#advanced summary")
    before = len(_jobs(server))
    page.fill("#restore-strength", "5")
    page.click("#run-button")
    error = page.locator("#restore-strength-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("strength")
    expect(page.locator("#restore-strength")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#restore-strength")).to_be_focused()
    assert len(_jobs(server)) == before  # refused with 422 before any job existed
    page.screenshot(path=str(ARTIFACTS / "4-error-beside-the-field.png"), full_page=True)

    page.get_by_label("1970s look").check()  # another preset: its pipeline's settings, errors cleared
    expect(page.locator("#retro-era")).to_have_value("1970s")
    expect(page.locator("#restore-strength-error")).to_be_hidden()
    page.close()


def test_the_compare_view_fits_the_picture_and_zooms_to_one_to_one(browser: Any, server: str) -> None:
    from playwright.sync_api import expect

    item = _upload(server, "portrait.jpg", _jpeg((300, 500), 4))  # portrait: no bars beside it
    job = httpx.post(f"{server}/api/jobs", headers=AUTH, json={"item_id": item, "parameters": {"tile": 0}}).json()
    deadline = time.monotonic() + RUN_TIMEOUT / 1000
    while not httpx.get(f"{server}/api/jobs/{job['id']}", headers=AUTH).json()["finished"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    page = _page(browser, server)
    page.goto(f"{server}/items/{item}")
    stage = page.locator("#stage")
    expect(page.locator("#slider")).to_be_visible()
    box = stage.bounding_box()
    assert abs(box["width"] / box["height"] - 300 / 500) < 0.02  # the view is the picture, not a letterbox

    page.locator("#slider").fill("20")
    expect(page.locator("#pane-after")).to_have_attribute("style", re.compile(r"inset\(0(px)? 0(px)? 0(px)? 20%\)"))
    box = stage.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    assert 75 <= int(page.locator("#slider").input_value()) <= 85
    page.screenshot(path=str(ARTIFACTS / "5-compare-slider.png"))

    page.click("#zoom-1")
    expect(page.locator("#zoom-1")).to_have_attribute("aria-pressed", "true")
    assert page.locator("#viewer").get_attribute("data-zoom") == "1.000"
    assert page.evaluate("document.getElementById('before').getBoundingClientRect().width") == pytest.approx(300, abs=1)
    page.click("#zoom-in")
    stage.focus()
    moved = page.evaluate("document.getElementById('before').style.transform")
    page.keyboard.press("ArrowDown")  # pans the zoomed picture
    assert page.evaluate("document.getElementById('before').style.transform") != moved
    page.screenshot(path=str(ARTIFACTS / "6-compare-zoomed.png"))
    page.keyboard.press("0")
    expect(page.locator("#zoom-fit")).to_have_attribute("aria-pressed", "true")

    page.click("button[data-mode=side]")
    expect(page.locator("#slider")).to_be_hidden()
    left, right = page.locator("#pane-before").bounding_box(), page.locator("#pane-after").bounding_box()
    assert right["x"] >= left["x"] + left["width"] and abs(right["width"] - left["width"]) < 1
    page.screenshot(path=str(ARTIFACTS / "7-compare-side-by-side.png"))
    page.close()


def test_run_on_a_collection_then_follow_it_on_the_jobs_page(browser: Any, server: str) -> None:
    from playwright.sync_api import expect

    names = ("harbour.jpg", "church.jpg")
    for seed, name in enumerate(names):
        _upload(server, name, _jpeg((72, 56), 10 + seed), collection="Zeeland")
    page = _page(browser, server)
    page.goto(f"{server}/?collection=Zeeland")
    expect(page.get_by_role("heading", level=1)).to_have_text("Zeeland")
    page.select_option("#batch-preset", "gentle-restore")
    before = len(_jobs(server))
    page.click("#batch-run")
    expect(page.locator("#batch-status")).to_contain_text("2 jobs queued")
    assert len(_jobs(server)) == before + 2

    page.click("#batch-status a")
    expect(page.get_by_role("heading", level=1)).to_have_text("Jobs")
    cards = page.locator(".job-card")
    expect(cards.filter(has_text="harbour.jpg")).to_have_count(1)
    expect(cards.first.locator("img")).to_have_attribute("src", re.compile(r"/api/items/\d+/thumbnail"))
    expect(cards.filter(has_text="harbour.jpg").locator(".status")).to_have_text("succeeded", timeout=RUN_TIMEOUT)
    page.fill("#job-filter", "church")
    expect(page.locator(".job-card:visible")).to_have_count(1)
    page.fill("#job-filter", "")
    page.select_option("#job-status", "succeeded")
    assert page.locator(".job-card:visible").count() >= 2
    page.screenshot(path=str(ARTIFACTS / "8-jobs-page.png"), full_page=True)
    page.close()


def test_every_page_fits_a_phone(browser: Any, server: str) -> None:
    from playwright.sync_api import expect

    item = _upload(server, "phone.jpg", _jpeg((120, 90), 20))
    page = _page(browser, server, PHONE)
    for name, path in (("gallery", "/"), ("item", f"/items/{item}"), ("jobs", "/jobs"), ("docs-login", "/login")):
        page.goto(f"{server}{path}")
        expect(page.locator("h1").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        page.screenshot(path=str(ARTIFACTS / f"9-phone-{name}.png"), full_page=True)
    page.goto(f"{server}/docs")
    expect(page.locator(".swagger-ui")).to_be_visible(timeout=30_000)
    page.close()


def test_review_the_damage_mask_paint_it_and_restore_with_it(browser: Any, server: str) -> None:
    from playwright.sync_api import expect

    item = _upload(server, "scratched.png", _png_of_sample())
    page = _page(browser, server)
    page.goto(f"{server}/items/{item}")
    page.click("#mask-mode")
    canvas = page.locator("#mask-canvas")
    expect(canvas).to_have_attribute("data-loaded", "1", timeout=60_000)
    count = "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; " \
            "for (let i = 3; i < d.length; i += 4) n += d[i] > 127; return n; }"
    detected = canvas.evaluate(count)
    assert detected > 0  # the sample's scratches
    page.screenshot(path=str(ARTIFACTS / "10-damage-mask-detected.png"))

    box = page.locator("#stage").bounding_box()
    middle = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, middle)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, middle, steps=8)
    page.mouse.up()
    assert canvas.evaluate(count) > detected  # painted
    page.screenshot(path=str(ARTIFACTS / "11-damage-mask-painted.png"))

    page.click("#mask-run")
    expect(page.locator("#mask-status")).to_have_attribute("data-mask-id", re.compile(r"\d+"), timeout=30_000)
    mask_id = int(page.locator("#mask-status").get_attribute("data-mask-id") or 0)
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT)
    mask = httpx.get(f"{server}/api/items/{mask_id}", headers=AUTH).json()
    assert mask["role"] == "mask" and mask["parent_id"] == item
    drawn = np.asarray(PILImage.open(io.BytesIO(httpx.get(f"{server}/api/items/{mask_id}/file", headers=AUTH).content)))
    assert drawn.shape[:2] == (512, 512) and set(np.unique(drawn)) <= {0, 255}
    assert drawn[256, 256].max() == 255  # the stroke across the middle is damage now
    events = httpx.get(f"{server}/api/items/{item}", headers=AUTH).json()["events"]
    derivation = next(e for e in reversed(events) if e["event_type"] == "derivation")
    assert derivation["detail"]["parameters"]["mask"] == [mask["sha256"]]  # the mask used, by its hash
    page.close()


def _png_of_sample() -> bytes:
    buffer = io.BytesIO()
    PILImage.open(sample_photo()).save(buffer, "PNG")
    return buffer.getvalue()


def test_bulk_edit_csv_descriptions_and_withdraw_from_the_pages(browser: Any, server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    first = _upload(server, "IMG_0042_windmill.jpg", _jpeg((64, 48), 30))
    second = _upload(server, "IMG_0043_windmill.jpg", _jpeg((64, 48), 31))
    page = _page(browser, server)
    page.goto(f"{server}/?q=windmill")
    expect(page.locator(".tile")).to_have_count(2)
    page.select_option("#bulk-field", "rights")
    page.fill("#bulk-value", "CC BY 4.0")
    page.fill("#bulk-tag", "mills")
    page.click("#bulk-run")
    expect(page.locator("#bulk-status")).to_have_text("2 items updated.")
    for item in (first, second):
        record = httpx.get(f"{server}/api/items/{item}", headers=AUTH).json()
        assert record["metadata"]["rights"] == "CC BY 4.0" and "mills" in record["tags"]

    sheet = tmp_path / "captions.csv"
    sheet.write_text(f"id,title\n{first},The mill at Veere\n99999,Nobody\n")
    page.click("#csv-card summary")
    page.set_input_files("#csv-file", str(sheet))
    page.click("#csv-check")
    expect(page.locator("#csv-result")).to_contain_text("1 photos would change")
    expect(page.locator("#csv-result")).to_contain_text("row 3 left out")
    assert httpx.get(f"{server}/api/items/{first}", headers=AUTH).json()["metadata"]["title"] == ""  # checked only
    page.screenshot(path=str(ARTIFACTS / "12-csv-check.png"), full_page=True)
    page.click("#csv-apply")
    expect(page.locator("#csv-result")).to_contain_text("1 photos changed")
    assert httpx.get(f"{server}/api/items/{first}", headers=AUTH).json()["metadata"]["title"] == "The mill at Veere"

    page.goto(f"{server}/items/{second}")
    page.click("#withdraw-card summary")
    page.fill("#withdraw-reason", "a duplicate scan")
    page.click("#withdraw-button")
    expect(page.locator("#withdraw-status")).to_contain_text("Withdrawn on")
    page.goto(f"{server}/?q=windmill")
    expect(page.locator(".tile")).to_have_count(1)
    page.close()
