"""Teacher outputs for distilling an upscaler, computed once and cached on disk, outside the repository.

A cache holds ``crops`` training samples (a low-resolution input, its high-resolution crop where one exists)
and, per teacher file, the teacher's output for every input. Samples are of two kinds:

* synthetic (``1 - real_share`` of them): a clean crop of a training photo degraded by the second-order
  chain of :mod:`patina.degradations.realesrgan` (the ground truth exists), and
* real: a training photo as it is (its own JPEG artefacts, noise and softness), only area-downscaled so that
  the input is a few times smaller than the file; no ground truth, the student learns the teacher alone.

The teachers are x4 networks; for a student of scale 2 their outputs are downscaled by 2 (MATLAB bicubic),
which is what the x2 comparison of ``patina eval upscale --degraded`` measures. A cache folder is named by a
hash of everything that decides its content, so a changed setting makes a new one; teacher outputs are
written in chunks and a run that stops resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from patina.data import read_rgb_uint8
from patina.networks.upscale import Rescaled
from patina.training.datasets import UpscalePairs, sample_seed

CHUNK = 32
"""Inputs per teacher call; the cache's progress is saved after each."""


@dataclass(frozen=True)
class CacheSpec:
    """What a cache's samples are: ``crops`` inputs of ``input_size`` pixels square for a student of ``scale``,
    ``real_share`` of them real photos, drawn from ``files`` with ``seed``."""

    files: tuple[Path, ...]
    crops: int
    input_size: int
    scale: int
    real_share: float
    seed: int

    def key(self) -> str:
        """A short hash of the spec (the files by name and size): the cache folder's name."""
        listing = [(p.name, p.stat().st_size) for p in self.files]
        text = json.dumps([listing, self.crops, self.input_size, self.scale, self.real_share, self.seed])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _real_input(path: Path, rng: np.random.Generator, size: int) -> np.ndarray:
    """A ``size`` square of the photo at ``path``, area-downscaled by 2-4x (never upscaled), as float32 RGB."""
    pixels = read_rgb_uint8(path)
    height, width = pixels.shape[:2]
    factor = max(float(rng.uniform(0.25, 0.5)), size / min(height, width))
    if factor < 1.0:
        pixels = cv2.resize(pixels, (max(size, round(width * factor)), max(size, round(height * factor))),
                            interpolation=cv2.INTER_AREA)
    top = int(rng.integers(pixels.shape[0] - size + 1))
    left = int(rng.integers(pixels.shape[1] - size + 1))
    return pixels[top : top + size, left : left + size].astype(np.float32) / 255


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) floats in [0, 1] -> (N, H, W, 3) uint8."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


class TeacherCache:
    """The samples of ``spec`` and the outputs of each teacher on them, in ``root / spec.key()``."""

    def __init__(self, root: str | Path, spec: CacheSpec) -> None:
        self.spec = spec
        self.folder = Path(root).expanduser() / spec.key()

    def file(self, name: str) -> Path:
        """The cached array called ``name``."""
        return self.folder / f"{name}.npy"

    def build_samples(self) -> None:
        """Draw and store the inputs, ground truths and which samples have one (once)."""
        spec = self.spec
        if self.file("has_target").is_file():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        size, high = spec.input_size, spec.input_size * spec.scale
        pairs = UpscalePairs(list(spec.files), crop=high, scale_range=(0.5, 1.0), scale=spec.scale,
                             degradation="realesrgan", sharpen_target=False, seed=spec.seed)
        inputs = np.zeros((spec.crops, size, size, 3), np.uint8)
        targets = np.zeros((spec.crops, high, high, 3), np.uint8)
        has_target = np.zeros(spec.crops, bool)
        for index in range(spec.crops):
            rng = np.random.default_rng(sample_seed(spec.seed + 7, index))
            if rng.random() < spec.real_share:
                path = spec.files[int(rng.integers(len(spec.files)))]
                inputs[index] = np.round(_real_input(path, rng, size) * 255).astype(np.uint8)
            else:
                item = pairs[index]
                inputs[index] = _to_uint8(item["input"][None])[0]
                targets[index] = _to_uint8(item["target"][None])[0]
                has_target[index] = True
        np.save(self.file("inputs"), inputs)
        np.save(self.file("targets"), targets)
        np.save(self.file("has_target"), has_target)  # written last: marks the samples complete

    def teacher_file(self, digest: str) -> Path:
        """Where the outputs of the teacher whose file has sha256 ``digest`` are (once complete)."""
        return self.file(f"teacher-{digest[:16]}")

    def teacher_outputs(self, teacher: torch.nn.Module, digest: str, *, progress: bool = False) -> Path:
        """The file of ``teacher``'s outputs (its file's sha256 is ``digest``) on every input, computed in
        chunks of :data:`CHUNK` where missing (a stopped build resumes)."""
        self.build_samples()
        final = self.teacher_file(digest)
        done_path = self.folder / f"teacher-{digest[:16]}.done"
        if final.is_file():
            return final
        inputs = np.load(self.file("inputs"), mmap_mode="r")
        spec, high = self.spec, self.spec.input_size * self.spec.scale
        partial = self.folder / f"teacher-{digest[:16]}.partial.npy"
        mode = "r+" if partial.is_file() else "w+"
        outputs = np.lib.format.open_memmap(partial, mode=mode, dtype=np.uint8, shape=(spec.crops, high, high, 3))
        start = int(done_path.read_text()) if done_path.is_file() and mode == "r+" else 0
        if getattr(teacher, "scale", spec.scale) != spec.scale:  # an x4 teacher for an x2 student
            teacher = Rescaled(teacher, spec.scale)
        for first in range(start, spec.crops, CHUNK):
            batch = torch.from_numpy(np.array(inputs[first : first + CHUNK])).permute(0, 3, 1, 2)
            with torch.inference_mode():
                out = teacher(batch.float() / 255).float().clamp(0, 1)
            outputs[first : first + len(batch)] = _to_uint8(out)
            outputs.flush()
            done_path.write_text(str(first + len(batch)))
            if progress:
                print(f"teacher {digest[:8]}: {first + len(batch)}/{spec.crops} crops", flush=True)
        del outputs
        partial.rename(final)
        done_path.unlink(missing_ok=True)
        return final


def detail(images: np.ndarray, chunk: int = 256) -> np.ndarray:
    """The mean gradient magnitude (Sobel, on the channel mean, in 0-255 units) of each of ``images``
    (N, H, W, 3) uint8, read ``chunk`` at a time (a memory-mapped cache is never loaded whole)."""
    scores = np.zeros(len(images), np.float64)
    for first in range(0, len(images), chunk):
        for offset, image in enumerate(np.asarray(images[first : first + chunk], np.float32).mean(axis=3)):
            gx, gy = cv2.Sobel(image, cv2.CV_32F, 1, 0), cv2.Sobel(image, cv2.CV_32F, 0, 1)
            scores[first + offset] = float(np.sqrt(gx * gx + gy * gy).mean()) / 8  # Sobel's kernel sums to 8
    return scores


class DistillationCrops(Dataset):
    """Endless samples of a :class:`TeacherCache`: ``input`` (3, s, s), ``teacher`` (the mean of the teachers'
    outputs), ``target`` (zeros where there is no ground truth) and ``has_target`` (a 0-dim bool), each
    sample a cached one flipped / rotated (seeded by its index, so a resumed run sees the same). With
    ``detail_power`` > 0 a sample is drawn with probability proportional to its :func:`detail` (of the first
    teacher's output, plus one gray level) to that power; otherwise uniformly."""

    def __init__(self, cache: TeacherCache, teacher_files: list[Path], *, seed: int,
                 detail_power: float = 0.0) -> None:
        self.inputs = np.load(cache.file("inputs"), mmap_mode="r")  # read from disk as sampled, not held in memory
        self.targets = np.load(cache.file("targets"), mmap_mode="r")
        self.has_target = np.load(cache.file("has_target"))
        self.teachers = [np.load(path, mmap_mode="r") for path in teacher_files]
        self.seed = seed
        self.probabilities: np.ndarray | None = None
        if detail_power > 0:
            weights = (detail(self.teachers[0]) + 1.0) ** detail_power
            self.probabilities = weights / weights.sum()

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(sample_seed(self.seed, index))
        if self.probabilities is None:
            sample = int(rng.integers(len(self.inputs)))
        else:
            sample = int(rng.choice(len(self.inputs), p=self.probabilities))
        return self.sample(sample, flip=bool(rng.random() < 0.5), turns=int(rng.integers(4)))

    def sample(self, sample: int, *, flip: bool = False, turns: int = 0) -> dict[str, torch.Tensor]:
        """Cached sample number ``sample``, mirrored (``flip``) and turned by ``turns`` quarter turns."""

        def tensor(pixels: np.ndarray) -> torch.Tensor:
            pixels = np.rot90(pixels[:, ::-1] if flip else pixels, turns)
            return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1))).float() / 255

        teacher = torch.stack([tensor(outputs[sample]) for outputs in self.teachers]).mean(dim=0)
        return {"input": tensor(self.inputs[sample]), "target": tensor(self.targets[sample]), "teacher": teacher,
                "has_target": torch.tensor(bool(self.has_target[sample]))}


__all__ = ["CHUNK", "CacheSpec", "DistillationCrops", "TeacherCache", "detail"]
