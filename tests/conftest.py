"""Shared test set-up: one torch thread (tests run many tiny models; thread start-up costs more than it saves)."""

import torch

torch.set_num_threads(1)


import hashlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image as PILImage  # noqa: E402


def write_photo(path: Path, *, seed: int = 0, size: tuple[int, int] = (48, 40), mode: str = "RGB") -> Path:
    """A small distinct test photo (gradient + seeded noise) in ``mode``, format from the extension."""
    rng = np.random.default_rng(seed)
    width, height = size
    ramp = np.linspace(0, 200, width, dtype=np.float32)[None, :, None]
    pixels = np.clip(ramp + rng.normal(0, 25, (height, width, 3)), 0, 255).astype(np.uint8)
    image = PILImage.fromarray(pixels)
    if mode != "RGB":
        image = image.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def sha256_of_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def photo_tree(tmp_path: Path) -> Path:
    """scans/ with nested folders: 3 distinct photos, one duplicated under another name and folder."""
    root = tmp_path / "scans"
    write_photo(root / "a.png", seed=1)
    write_photo(root / "box1" / "b.jpg", seed=2)
    write_photo(root / "box1" / "sleeve" / "c.png", seed=3)
    (root / "box2").mkdir()
    (root / "box2" / "a-copy.png").write_bytes((root / "a.png").read_bytes())
    return root


@pytest.fixture
def archive(tmp_path: Path):
    """A fresh, empty archive."""
    from patina.archive import Archive

    with Archive.create(tmp_path / "archive") as opened:
        yield opened


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def start_server(port: int, data_dir: Path, token: str):  # noqa: ANN201 - subprocess.Popen
    """`patina serve` on 127.0.0.1:``port`` in a subprocess, returned once /api/health answers; its log (stderr)
    goes to ``data_dir``'s sibling ``serve-<port>.log`` (appended), named by the process's ``log_path``."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    env = {**os.environ, "PATINA_API_TOKEN": token, "PATINA_DATA_DIR": str(data_dir)}
    log_path = data_dir.parent / f"serve-{port}.log"
    with open(log_path, "ab") as log:  # a file, not a pipe: a pipe nobody reads would fill and stall the server
        process = subprocess.Popen([sys.executable, "-m", "patina", "serve", "--port", str(port)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=log)
    process.log_path = log_path  # type: ignore[attr-defined]
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(log_path.read_text())
