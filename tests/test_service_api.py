"""The REST API through TestClient: auth, uploads and their limits, items, jobs, renditions, resume after a crash."""

from __future__ import annotations

import hashlib
import io
import re
import signal
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image as PILImage

from conftest import free_port, start_server
from patina.service.app import create_app
from patina.service.settings import Settings

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FAST = {"ensemble": False, "tile": 0}


def png_bytes(seed: int, size: tuple[int, int] = (48, 40)) -> bytes:
    """A distinct random PNG."""
    buffer = io.BytesIO()
    rng = np.random.default_rng(seed)
    PILImage.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def make_client(tmp_path: Path, **settings: object) -> TestClient:
    options = {"data_dir": tmp_path / "data", "api_token": TOKEN, **settings}
    return TestClient(create_app(Settings(**options)))  # type: ignore[arg-type]


@pytest.fixture
def client(tmp_path: Path):
    with make_client(tmp_path) as opened:
        yield opened


def upload(client: TestClient, *files: tuple[str, bytes], **form: str) -> httpx.Response:
    return client.post("/api/items", headers=AUTH, data=form,
                       files=[("files", (name, data, "application/octet-stream")) for name, data in files])


def wait_for_job(client: TestClient, job_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers=AUTH).json()
        if job["finished"]:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_every_api_route_needs_the_token(client: TestClient) -> None:
    assert client.get("/api/health").json()["status"] == "ok"
    assert client.get("/api/items").status_code == 401
    assert client.get("/api/items", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    assert client.post("/api/jobs", json={"item_id": 1}).status_code == 401
    assert client.get("/api/items", headers=AUTH).status_code == 200
    assert client.get("/api/items", headers={"X-API-Token": TOKEN}).status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "Patina"
    docs = client.get("/docs").text
    assert "/static-offline-docs/swagger-ui-bundle.js" in docs  # no CDN: works offline


def test_upload_imports_dedupes_and_reports_bad_files(client: TestClient) -> None:
    first = upload(client, ("one.png", png_bytes(1)), ("two.png", png_bytes(2)), collection="Box 3",
                   tags="beach, 1950s")
    assert first.status_code == 201
    body = first.json()
    assert body["new"] == [1, 2] and body["failed"] == []
    assert body["items"][0]["collections"] == ["Box 3"] and body["items"][0]["tags"] == ["1950s", "beach"]
    boxed = client.get("/api/items", headers=AUTH, params={"collection": "Box 3", "tag": "beach"}).json()
    assert boxed["total"] == 2 and client.get("/api/items", headers=AUTH, params={"tag": "none"}).json()["total"] == 0
    again = upload(client, ("renamed.png", png_bytes(1)), ("notes.png", b"not an image at all"))
    assert again.status_code == 201
    assert again.json()["new"] == [] and again.json()["failed"][0]["name"] == "notes.png"
    only_bad = upload(client, ("broken.jpg", b"\xff\xd8\xff\xe0 truncated"))
    assert only_bad.status_code == 422 and "broken.jpg" in only_bad.text
    assert client.get("/api/items", headers=AUTH).json()["total"] == 2


def test_oversized_uploads_get_413_and_nothing_is_kept(tmp_path: Path) -> None:
    with make_client(tmp_path, max_upload_bytes=100_000, max_pixels=10_000) as client:
        big_body = upload(client, ("big.png", png_bytes(3, size=(300, 300))))
        assert big_body.status_code == 413
        too_many_pixels = upload(client, ("wide.png", png_bytes(4, size=(200, 60))))
        assert too_many_pixels.status_code == 413 and "pixels" in too_many_pixels.text
        assert upload(client, ("ok.png", png_bytes(5))).status_code == 201
        archive = client.app.state.archive
        assert archive.count() == 1 and len(list(archive.store.iter_objects())) == 1
        assert not list(archive.store.tmp.iterdir())


def test_upload_names_cannot_escape_the_store(client: TestClient, tmp_path: Path) -> None:
    before = set(tmp_path.rglob("*"))
    names = ["../../../../evil.png", "..\\..\\evil2.png", "/etc/cron.d/evil3.png", ".hidden.png"]
    response = upload(client, *((name, png_bytes(10 + i)) for i, name in enumerate(names)))
    assert response.status_code == 201
    assert [item["original_name"] for item in response.json()["items"]] == ["evil.png", "evil2.png", "evil3.png",
                                                                            "hidden.png"]
    created = {p for p in set(tmp_path.rglob("*")) - before if p.is_file()}
    data_dir = tmp_path / "data"
    assert all(data_dir in p.parents for p in created)
    assert not any(p.name.startswith("evil") for p in created)
    assert not Path("/etc/cron.d/evil3.png").exists()


def test_items_search_edit_and_files(client: TestClient) -> None:
    upload(client, ("harbour.png", png_bytes(20)), ("church.png", png_bytes(21)))
    edited = client.patch("/api/items/1", headers=AUTH, json={"metadata": {"title": "Fishing harbour"},
                                                              "add_tags": ["boats"]})
    assert edited.status_code == 200 and edited.json()["label"] == "Fishing harbour"
    found = client.get("/api/items", headers=AUTH, params={"q": "harbour boats"}).json()
    assert [item["id"] for item in found["items"]] == [1]
    detail = client.get("/api/items/1", headers=AUTH).json()
    assert [e["event_type"] for e in detail["events"]] == ["ingestion", "metadata modification"]
    assert client.patch("/api/items/1", headers=AUTH, json={"metadata": {"colour": "x"}}).status_code == 422
    assert client.get("/api/items/99", headers=AUTH).status_code == 404
    original = client.get("/api/items/2/file", headers=AUTH)
    assert original.content == png_bytes(21) and 'filename="church.png"' in original.headers["content-disposition"]
    thumb = client.get("/api/items/2/thumbnail", headers=AUTH)
    assert thumb.headers["content-type"] == "image/jpeg" and PILImage.open(io.BytesIO(thumb.content)).size == (48, 40)


def test_jobs_run_to_a_derivative_and_bad_jobs_are_refused(client: TestClient) -> None:
    upload(client, ("portrait.png", png_bytes(30)))
    names = [p["name"] for p in client.get("/api/pipelines", headers=AUTH).json()]
    assert names == ["restore", "colorize", "upscale", "retro", "stylize"]
    submitted = client.post("/api/jobs", headers=AUTH, json={"item_id": 1, "pipeline": "restore", "parameters": FAST})
    assert submitted.status_code == 202 and submitted.json()["status"] in ("queued", "running")
    job = wait_for_job(client, submitted.json()["id"])
    assert job["status"] == "succeeded" and job["progress"] == 1.0
    derivative = client.get(f"/api/items/{job['derivative_id']}", headers=AUTH).json()
    assert derivative["parent_id"] == 1 and derivative["events"][0]["event_type"] == "derivation"
    file = client.get(f"/api/items/{job['derivative_id']}/file", headers=AUTH).content
    assert hashlib.sha256(file).hexdigest() == derivative["sha256"]
    assert [d["id"] for d in client.get("/api/items/1/derivatives", headers=AUTH).json()] == [job["derivative_id"]]

    assert client.post("/api/jobs", headers=AUTH, json={"item_id": 1, "pipeline": "warp"}).status_code == 422
    assert client.post("/api/jobs", headers=AUTH, json={"item_id": 1, "parameters": {"x": 1}}).status_code == 422
    assert client.post("/api/jobs", headers=AUTH, json={"item_id": 42}).status_code == 404


def test_pipelines_describe_their_options_and_bad_values_are_refused_before_queueing(client: TestClient) -> None:
    upload(client, ("portrait.png", png_bytes(30)))
    pipelines = client.get("/api/pipelines", headers=AUTH).json()
    schema = {p["name"]: {o["name"]: o for o in p["options"]} for p in pipelines}
    strength = schema["restore"]["strength"]
    assert (strength["type"], strength["default"], strength["minimum"], strength["maximum"]) == ("number", 1.0, 0, 1)
    assert schema["restore"]["tile"]["auto"] and schema["restore"]["scratches"]["type"] == "boolean"
    assert schema["retro"]["era"]["choices"] == ["1880s", "1920s", "1950s", "1970s", "1980s", "1990s"]
    assert schema["stylize"]["fusion"]["choices"] == ["adain", "wct"]
    assert schema["stylize"]["style"]["type"] == "references" and schema["stylize"]["style"]["required"]
    assert schema["colorize"]["temperature"]["auto"] and schema["upscale"]["scale"]["choices"] == [2, 4]

    for pipeline, parameters, field in (("restore", {"strength": 1.5}, "strength"), ("retro", {"era": "1850s"}, "era"),
                                        ("restore", {"ensemble": "yes"}, "ensemble"), ("stylize", {}, "style"),
                                        ("upscale", {"tile": "huge"}, "tile")):
        refused = client.post("/api/jobs", headers=AUTH, json={"item_id": 1, "pipeline": pipeline,
                                                                "parameters": parameters})
        assert refused.status_code == 422, (pipeline, parameters)
        detail = refused.json()["detail"][0]
        assert detail["field"] == field and field in detail["reason"]
    assert client.get("/api/jobs", headers=AUTH).json() == []  # nothing was queued


def test_a_queued_job_can_be_cancelled(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path / "d", api_token=TOKEN), start_workers=False)) as client:
        upload(client, ("p.png", png_bytes(40)))
        job = client.post("/api/jobs", headers=AUTH, json={"item_id": 1, "parameters": FAST}).json()
        cancelled = client.post(f"/api/jobs/{job['id']}/cancel", headers=AUTH).json()
        assert cancelled["status"] == "cancelled" and cancelled["finished"]
        assert client.get("/api/jobs", headers=AUTH, params={"status": "cancelled"}).json()[0]["id"] == job["id"]


def test_ui_login_cookie_and_csrf_guard(client: TestClient) -> None:
    upload(client, ("p.png", png_bytes(50)))
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"
    assert client.post("/login", data={"token": "nope"}).status_code == 401
    logged_in = client.post("/login", data={"token": TOKEN, "next": "/items/1"}, follow_redirects=False)
    assert logged_in.headers["location"] == "/items/1"
    session = logged_in.cookies["patina_session"]
    assert session != TOKEN and len(session) >= 40  # a random id, never the token
    flags = logged_in.headers["set-cookie"].lower()
    assert "httponly" in flags and "samesite=strict" in flags and "max-age=604800" in flags and "secure" not in flags
    page = client.get("/items/1")
    assert page.status_code == 200 and 'id="run-button"' in page.text and 'id="restore-strength"' in page.text
    upload(client, ("q.png", png_bytes(51)), collection="Holidays")
    gallery = client.get("/", params={"collection": "Holidays"}).text
    assert "Holidays (1)" in gallery and 'data-item-id="2"' in gallery and 'data-item-id="1"' not in gallery
    assert client.patch("/api/items/1", json={"metadata": {"title": "x"}}).status_code == 403  # cookie alone
    edited = client.patch("/api/items/1", json={"metadata": {"title": "x"}}, headers={"X-Patina-UI": "1"})
    assert edited.status_code == 200
    assert client.post("/login", data={"token": TOKEN, "next": "//evil.example"}, follow_redirects=False
                       ).headers["location"] == "/"
    current = client.cookies["patina_session"]
    client.post("/logout")  # the session ends: the same cookie no longer works
    client.cookies.set("patina_session", current)
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/api/items").status_code == 401


@pytest.mark.slow
def test_jobs_resume_after_the_server_is_killed(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port, tmp_path / "data", TOKEN)
    try:
        with httpx.Client(base_url=base, headers=AUTH, timeout=30) as http:
            http.post("/api/items", files=[("files", ("big.png", png_bytes(60, size=(640, 480))))]).raise_for_status()
            job = http.post("/api/jobs", json={"item_id": 1, "parameters": {"tile": 128}}).json()
            while http.get(f"/api/jobs/{job['id']}").json()["status"] != "running":
                time.sleep(0.05)
            server.send_signal(signal.SIGKILL)
            server.wait()
            server = start_server(port, tmp_path / "data", TOKEN)
            deadline = time.monotonic() + 240
            while not (state := http.get(f"/api/jobs/{job['id']}").json())["finished"]:
                assert time.monotonic() < deadline, state
                time.sleep(0.2)
            assert state["status"] == "succeeded" and state["attempts"] == 2
            assert http.get("/api/items", params={"role": "derivative"}).json()["total"] == 1
            httpx.get(f"{base}/login", params={"code": "a-made-up-login-code"})
        log = server.log_path.read_text()  # both servers' logs, one after the other
        assert '"POST /api/jobs HTTP/1.1" 202' in log  # request lines
        assert log.count(f"job {job['id']} (restore on item 1) started") == 2
        assert re.search(rf"job {job['id']} \(restore on item 1\) done in [0-9.]+ s: derivative \d+", log)
        assert "GET /login?code=*** HTTP/1.1" in log and "a-made-up-login-code" not in log and TOKEN not in log
    finally:
        server.kill()
        server.wait()


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(tmp_path: Path) -> None:
    with make_client(tmp_path, max_upload_bytes=50_000) as client:
        boundary = "patinaboundary"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"huge.png\"\r\n"
                "Content-Type: image/png\r\n\r\n").encode()

        def chunks():
            yield head
            for _ in range(20):
                yield b"\0" * 10_000
            yield f"\r\n--{boundary}--\r\n".encode()

        multipart = {**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        response = client.post("/api/items", headers=multipart,
                               content=chunks())
        assert response.status_code == 413
        assert client.app.state.archive.count() == 0


def test_renditions_of_16_bit_and_transparent_images_are_plain_jpegs(client: TestClient, tmp_path: Path) -> None:
    import cv2

    deep = np.zeros((30, 40, 4), np.uint16)
    deep[..., :3] = np.linspace(0, 65535, 40, dtype=np.uint16)[None, :, None]
    deep[..., 3] = 65535
    deep[:10, :, 3] = 0  # a transparent band becomes white
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    response = upload(client, ("deep.png", (tmp_path / "deep.png").read_bytes()))
    assert response.status_code == 201
    preview = client.get("/api/items/1/preview", headers=AUTH)
    image = np.asarray(PILImage.open(io.BytesIO(preview.content)))
    assert image.shape == (30, 40, 3) and image.dtype == np.uint8
    assert image[:8].min() > 240  # transparent part composited on white
    assert client.get("/api/items/1/file", headers=AUTH).content == (tmp_path / "deep.png").read_bytes()


def test_withdraw_bulk_edit_and_csv_metadata_through_the_api(client: TestClient) -> None:
    upload(client, ("FadedRacket.PNG", png_bytes(1)), ("IMG_0042_mill.png", png_bytes(2)),
           ("oma.png", png_bytes(3))).raise_for_status()
    found = client.get("/api/items", headers=AUTH, params={"q": "racket"}).json()
    assert [item["original_name"] for item in found["items"]] == ["FadedRacket.PNG"]

    edited = client.post("/api/items/bulk-edit", headers=AUTH,
                         json={"q": "mill", "ids": [1], "metadata": {"rights": "CC BY 4.0"}, "add_tags": ["x"]})
    assert edited.status_code == 200, edited.text
    assert sorted(item["id"] for item in edited.json()) == [1, 2]
    assert all(item["metadata"]["rights"] == "CC BY 4.0" and item["tags"] == ["x"] for item in edited.json())
    assert client.post("/api/items/bulk-edit", headers=AUTH, json={"q": "nothing-matches"}).status_code == 422
    assert client.post("/api/items/bulk-edit", headers=AUTH, json={"ids": [99]}).status_code == 404
    too_many_words = client.post("/api/items/bulk-edit", headers=AUTH, json={"q": "mill " * 13})
    assert too_many_words.status_code == 422 and "at most 12 words" in too_many_words.text  # was a 500

    csv_text = b"original_name,title,tags\noma.png,Grandmother,family\nnope.png,No,\n"
    dry = client.post("/api/items/metadata-csv", headers=AUTH, data={"dry_run": "true"},
                      files=[("file", ("meta.csv", csv_text, "text/csv"))])
    assert dry.status_code == 200, dry.text
    plan = dry.json()
    assert not plan["applied"] and plan["changes"][0]["fields"] == {"title": ["", "Grandmother"]}
    assert plan["problems"] == [[3, "original_name 'nope.png': no such item"]]
    assert client.get("/api/items/3", headers=AUTH).json()["metadata"]["title"] == ""
    done = client.post("/api/items/metadata-csv", headers=AUTH, files=[("file", ("meta.csv", csv_text, "text/csv"))])
    assert done.json()["applied"] and client.get("/api/items/3", headers=AUTH).json()["tags"] == ["family"]
    bad = client.post("/api/items/metadata-csv", headers=AUTH, files=[("file", ("m.csv", b"titel\nx\n", "text/csv"))])
    assert bad.status_code == 422 and "m.csv" in bad.text and "/tmp" not in bad.text

    assert client.post("/api/items/1/withdraw", headers=AUTH, json={"reason": ""}).status_code == 422
    purge = client.post("/api/items/1/withdraw", headers=AUTH, json={"reason": "duplicate", "purge": True})
    assert purge.status_code == 422 and "masters are never deleted" in purge.text
    withdrawn = client.post("/api/items/1/withdraw", headers=AUTH, json={"reason": "duplicate"})
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_at"] is not None
    listed = client.get("/api/items", headers=AUTH).json()
    assert [item["id"] for item in listed["items"]] == [2, 3] and listed["total"] == 2
    assert client.get("/api/items", headers=AUTH, params={"q": "racket"}).json()["items"] == []
    assert client.get("/api/items/1", headers=AUTH).json()["events"][-1]["event_type"] == "deaccession"
    assert client.get("/api/items/1/file", headers=AUTH).status_code == 200  # kept
    gallery = client.get("/", headers=AUTH).text
    assert "IMG_0042_mill.png" in gallery and "FadedRacket" not in gallery  # not in the gallery


def test_presets_are_valid_runs_of_their_pipelines() -> None:
    from patina.pipelines.recipes import get_recipe
    from patina.service.presets import PRESETS

    assert len({preset.key for preset in PRESETS}) == len(PRESETS)
    for preset in PRESETS:
        recipe = get_recipe(preset.pipeline)
        pictures = {name: [1] for name in recipe.references} if preset.needs_pictures else {}
        assert recipe.parameters({**preset.parameters, **pictures})  # a bad name or value would raise


def test_a_batch_on_a_collection_is_checked_once_and_queued_whole(client: TestClient) -> None:
    upload(client, ("a.png", png_bytes(60)), ("b.png", png_bytes(61)), collection="Zeeland").raise_for_status()
    upload(client, ("c.png", png_bytes(62))).raise_for_status()
    bad = client.post("/api/jobs/batch", headers=AUTH, json={"collection": "Zeeland", "parameters": {"strength": 9}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "strength"
    assert client.get("/api/jobs", headers=AUTH).json() == []
    assert client.post("/api/jobs/batch", headers=AUTH, json={"collection": "Nowhere"}).status_code == 422
    queued = client.post("/api/jobs/batch", headers=AUTH,
                         json={"collection": "Zeeland", "item_ids": [3], "parameters": FAST})
    assert queued.status_code == 202
    assert sorted(job["item_id"] for job in queued.json()) == [1, 2, 3]


@pytest.mark.slow
def test_damage_masks_are_detected_kept_and_used_by_restore(client: TestClient) -> None:
    upload(client, ("scan.png", png_bytes(70, size=(64, 48)))).raise_for_status()
    detected = client.get("/api/items/1/damage-mask", headers=AUTH)
    assert detected.status_code == 200 and detected.headers["content-type"] == "image/png"
    mask = np.asarray(PILImage.open(io.BytesIO(detected.content)))
    assert mask.shape == (48, 64) and mask.dtype == np.uint8
    assert client.get("/api/items/1/damage-mask", headers=AUTH).content == detected.content  # cached

    def png(array: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        PILImage.fromarray(array).save(buffer, "PNG")
        return buffer.getvalue()

    wrong = client.post("/api/items/1/masks", headers=AUTH, files=[("file", ("m.png", png(np.zeros((10, 10), np.uint8)),
                                                                             "image/png"))])
    assert wrong.status_code == 422 and "the photo's size, 64x48" in wrong.text
    drawn = np.zeros((48, 64), np.uint8)
    drawn[20:24, :] = 255
    kept = client.post("/api/items/1/masks", headers=AUTH, files=[("file", ("m.png", png(drawn), "image/png"))])
    assert kept.status_code == 201 and kept.json()["role"] == "mask" and kept.json()["parent_id"] == 1
    mask_id = kept.json()["id"]
    assert [item["id"] for item in client.get("/api/items", headers=AUTH).json()["items"]] == [1]  # not a photo
    job = client.post("/api/jobs", headers=AUTH, json={"item_id": 1, "parameters": {**FAST, "mask": [mask_id]}})
    assert job.status_code == 202
    for _ in range(600):
        state = client.get(f"/api/jobs/{job.json()['id']}", headers=AUTH).json()
        if state["finished"]:
            break
        time.sleep(0.1)
    assert state["status"] == "succeeded", state
    derivation = [e for e in client.get("/api/items/1", headers=AUTH).json()["events"]
                  if e["event_type"] == "derivation"][0]
    assert derivation["detail"]["parameters"]["mask"] == [kept.json()["sha256"]]


def test_pages_check_the_login_before_any_work_and_bound_what_they_are_asked(client: TestClient,
                                                                                monkeypatch) -> None:
    from patina.archive import Archive

    upload(client, ("pier.png", png_bytes(80))).raise_for_status()
    searched = []
    original = Archive.search
    monkeypatch.setattr(Archive, "search", lambda self, *a, **k: searched.append(a) or original(self, *a, **k))
    huge = " ".join(["word"] * 4000)  # 20 KB
    anonymous = client.get("/", params={"q": huge}, follow_redirects=False)
    assert anonymous.status_code == 303 and searched == []  # no login, no search
    for path in ("/items/1", "/jobs", "/?page=1e20"):
        assert client.get(path, follow_redirects=False).status_code == 303

    assert client.get("/api/items", headers=AUTH, params={"q": huge}).status_code == 422
    too_many = client.get("/api/items", headers=AUTH, params={"q": " ".join(f"w{i}" for i in range(13))})
    assert too_many.status_code == 422 and "at most 12 words" in too_many.text
    assert client.get("/api/items", headers=AUTH, params={"q": "pier"}).json()["total"] == 1
    client.post("/login", data={"token": TOKEN})
    page = client.get("/", params={"q": huge})
    assert page.status_code == 200 and "a search is at most 500 characters" in page.text
    assert client.get("/", params={"page": "1e20"}).status_code == 200
    assert client.get("/items/1e23").status_code == 404 and client.get("/items/99999999999999999999").status_code == 404
    for path in ("/api/items/99999999999999999999", "/api/items/1e23", "/api/jobs/99999999999999999999",
                 "/api/items/99999999999999999999/thumbnail", "/api/items?offset=100000000000000000000",
                 "/api/jobs?item_id=99999999999999999999"):
        assert client.get(path, headers=AUTH).status_code == 422, path
    job = client.post("/api/jobs", headers=AUTH, json={"item_id": 10**20})
    assert job.status_code == 422


def test_health_reports_the_workers_and_the_queue(client: TestClient) -> None:
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["workers"]["configured"] == 1 and health["workers"]["alive"] == 1
    assert health["queue"] == {"queued": 0, "running": 0, "oldest_queued_seconds": None}


def test_security_headers_and_a_body_limit_on_every_route(tmp_path: Path) -> None:
    with make_client(tmp_path, max_upload_bytes=200_000) as client:
        page = client.get("/login")
        assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page.headers[
            "content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["referrer-policy"] == "same-origin"
        api = client.get("/api/health")
        assert api.headers["x-content-type-options"] == "nosniff"
        docs = client.get("/docs")
        assert docs.status_code == 200 and "content-security-policy" not in docs.headers  # Swagger's inline script
        upload(client, ("p.png", png_bytes(90))).raise_for_status()
        huge_edit = client.patch("/api/items/1", headers={**AUTH, "Content-Type": "application/json"},
                                 content=b'{"metadata": {"description": "' + b"x" * 2_000_000 + b'"}}')
        assert huge_edit.status_code == 413 and "limit of 1000000 bytes" in huge_edit.text
        huge_job = client.post("/api/jobs", headers={**AUTH, "Content-Type": "application/json"},
                               content=b'{"item_id": 1, "pipeline": "' + b"r" * 1_500_000 + b'"}')
        assert huge_job.status_code == 413
        assert client.get("/api/items/1", headers=AUTH).json()["metadata"]["description"] == ""
        big_upload = upload(client, ("big.png", png_bytes(91, size=(400, 400))))  # over 200 KB: the upload limit
        assert big_upload.status_code == 413


def test_wrong_tokens_are_throttled_per_address(client: TestClient) -> None:
    for _ in range(5):
        assert client.post("/login", data={"token": "guess"}, follow_redirects=False).status_code == 401
    blocked = client.post("/login", data={"token": TOKEN}, follow_redirects=False)  # even the right one, for now
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "Too many wrong tokens" in blocked.text
    assert client.get("/api/items", headers=AUTH).status_code == 200  # the API's token check is not affected


def test_the_login_throttle_forgets_after_its_window() -> None:
    from patina.service.auth import LoginThrottle

    throttle = LoginThrottle(attempts=2, window=0.2)
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 0
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") >= 1 and throttle.retry_after("10.0.0.2") == 0
    time.sleep(0.25)
    assert throttle.retry_after("10.0.0.1") == 0


@pytest.mark.slow
def test_a_job_names_only_registered_models_or_files_in_the_models_folder(client: TestClient, tmp_path: Path,
                                                                          monkeypatch) -> None:
    from patina.weights.registry import MODELS_DIR_ENV

    upload(client, ("p.png", png_bytes(95))).raise_for_status()
    monkeypatch.delenv(MODELS_DIR_ENV, raising=False)
    for model in ("/etc/passwd", "../../secret.safetensors", "sub/mine.safetensors", "mine.safetensors"):
        refused = client.post("/api/jobs", headers=AUTH, json={"item_id": 1, "parameters": {"model": model}})
        assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "model", model
        assert "models folder" in refused.text and str(tmp_path) not in refused.text
    upscale = client.post("/api/jobs", headers=AUTH, json={"item_id": 1, "pipeline": "restore",
                                                         "parameters": {"upscale": "/tmp/x.pth"}})
    assert upscale.status_code == 422 and upscale.json()["detail"][0]["field"] == "upscale"
    assert client.get("/api/jobs", headers=AUTH).json() == []
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "mine.safetensors").write_bytes(b"weights")
    monkeypatch.setenv(MODELS_DIR_ENV, str(folder))
    accepted = client.post("/api/jobs", headers=AUTH, json={"item_id": 1, "parameters": {"model": "mine.safetensors",
                                                                                        "upscale": 2}})
    assert accepted.status_code == 202
    registered = client.post("/api/jobs", headers=AUTH, json={"item_id": 1, "parameters": {"model": "restore"}})
    assert registered.status_code == 202


def test_the_one_time_login_link_works_once_and_sessions_are_secure_over_https(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        code = client.app.state.login_codes.new()
        first = client.get("/login", params={"code": code, "next": "/jobs"}, follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/jobs"
        assert "patina_session" in first.cookies
        again = client.get("/login", params={"code": code}, follow_redirects=False)
        assert again.status_code == 401 and "used already" in again.text
        assert client.get("/login", params={"token": TOKEN}, follow_redirects=False).status_code == 200  # no login
    with make_client(tmp_path) as secure:
        secure.base_url = httpx.URL("https://testserver")
        logged_in = secure.post("/login", data={"token": TOKEN}, follow_redirects=False)
        assert "secure" in logged_in.headers["set-cookie"].lower()


def test_sessions_outlive_a_restart_and_end_with_the_token_that_opened_them(tmp_path: Path) -> None:
    """Sessions are kept in the catalogue: the same cookie works after the server restarts; a session opened with
    a user's token ends when the user gets a new token or is removed; one opened with the service's token ends
    when the service is started with another; an expired one is refused. Only sha256s are stored."""
    with make_client(tmp_path) as client:
        archive = client.app.state.archive
        _, vera_token = archive.add_user("vera", "viewer")
        as_admin = client.post("/login", data={"token": TOKEN}, follow_redirects=False).cookies["patina_session"]
        as_vera = client.post("/login", data={"token": vera_token}, follow_redirects=False).cookies["patina_session"]
    stored = (tmp_path / "data" / "catalogue.sqlite").read_bytes()
    assert as_admin.encode() not in stored and as_vera.encode() not in stored

    def works(client: TestClient, session: str) -> bool:
        client.cookies.set("patina_session", session)
        return client.get("/api/items").status_code == 200

    with make_client(tmp_path) as restarted:
        assert works(restarted, as_admin) and works(restarted, as_vera)
        restarted.app.state.archive.new_user_token("vera")
        assert not works(restarted, as_vera) and works(restarted, as_admin)
        _, again = restarted.app.state.archive.add_user("vera2", "editor")
        as_vera2 = restarted.post("/login", data={"token": again}, follow_redirects=False).cookies["patina_session"]
        restarted.app.state.archive.remove_user("vera2")
        assert not works(restarted, as_vera2)
        expired = restarted.app.state.archive.start_session(TOKEN, seconds=-1)
        assert not works(restarted, expired) and not works(restarted, "x" * 500)
    with make_client(tmp_path, api_token="another-token-for-the-service") as other:
        assert not works(other, as_admin)


@pytest.mark.slow
def test_users_have_roles_and_tokens_of_their_own(client: TestClient) -> None:
    from patina.archive import Archive

    archive: Archive = client.app.state.archive
    upload(client, ("p.png", png_bytes(97))).raise_for_status()
    viewer_record, viewer_token = archive.add_user("vera", "viewer")
    _, editor_token = archive.add_user("eddy", "editor")
    _, admin_token = archive.add_user("ada", "admin")
    assert viewer_record.role == "viewer" and viewer_token not in str(archive.engine.url)
    as_viewer, as_editor, as_admin = ({"Authorization": f"Bearer {token}"}
                                      for token in (viewer_token, editor_token, admin_token))
    assert client.get("/api/items", headers=as_viewer).status_code == 200
    refused = client.post("/api/jobs", headers=as_viewer, json={"item_id": 1, "parameters": FAST})
    assert refused.status_code == 403 and "vera is a viewer" in refused.text
    assert client.patch("/api/items/1", headers=as_viewer, json={"metadata": {"title": "x"}}).status_code == 403
    assert client.patch("/api/items/1", headers=as_editor, json={"metadata": {"title": "x"}}).status_code == 200
    assert client.post("/api/items/1/withdraw", headers=as_editor, json={"reason": "dup"}).status_code == 403
    assert client.post("/api/items/1/withdraw", headers=as_admin, json={"reason": "dup"}).status_code == 200

    logged_in = client.post("/login", data={"token": viewer_token}, follow_redirects=False)  # a session as vera
    assert logged_in.status_code == 303 and client.get("/jobs").status_code == 200
    assert client.patch("/api/items/1", json={"metadata": {"title": "y"}}, headers={"X-Patina-UI": "1"}
                        ).status_code == 403
    new = archive.new_user_token("vera")
    assert client.get("/api/items", headers=as_viewer).status_code == 401  # the old token stopped working
    assert client.get("/api/items", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    archive.remove_user("vera")
    assert client.get("/api/items", headers={"Authorization": f"Bearer {new}"}).status_code == 401
