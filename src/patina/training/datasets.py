"""Training pairs made on the fly: a clean image -> random crop -> seeded old-photo degradation."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from patina.core.errors import ConfigError
from patina.data import read_rgb_uint8
from patina.degradations.chain import EVAL_CONFIG, TRAIN_CONFIG, DegradationConfig, degrade

DEGRADATION_PRESETS: dict[str, DegradationConfig] = {"train": TRAIN_CONFIG, "eval": EVAL_CONFIG}


def degradation_preset(name: str, overrides: dict[str, Any] | None = None) -> DegradationConfig:
    """The degradation preset ``name`` with some of its fields changed (e.g. more negatives for one run)."""
    if name not in DEGRADATION_PRESETS:
        raise ConfigError(f"degradation must be one of {', '.join(DEGRADATION_PRESETS)}, got {name!r}")
    try:
        return dataclasses.replace(DEGRADATION_PRESETS[name], **(overrides or {}))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"degradation_overrides: {exc}") from None


CACHE_BYTES = 512 << 20
"""Decoded training images each dataset copy (one per loader worker) keeps in memory."""


def single_threaded_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: keep OpenCV to one thread per worker so workers don't oversubscribe cores."""
    cv2.setNumThreads(0)


def sample_seed(base_seed: int, index: int, stream: int = 0) -> int:
    """A well-mixed 32-bit seed for sample number ``index`` of a run seeded ``base_seed``; another ``stream``
    (e.g. a training process's rank) gives independent seeds, stream 0 those of a single process."""
    entropy = [base_seed, index, stream] if stream else [base_seed, index]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


class PhotoCrops:
    """Random crops of a small set of pictures (real old photos, style images): each is decoded once and
    shrunk to ``side`` on its long side (never enlarged, unless smaller than a crop)."""

    def __init__(self, files: list[Path], *, crop: int, side: int) -> None:
        if not files:
            raise ConfigError("no pictures to crop from")
        self.crop = crop
        self.pictures = [self._load(path, side) for path in files]

    def __len__(self) -> int:
        return len(self.pictures)

    def _load(self, path: Path, side: int) -> np.ndarray:
        pixels = read_rgb_uint8(path)
        scale = side / max(pixels.shape[:2])
        scale = max(min(scale, 1.0), self.crop / min(pixels.shape[:2]))
        if abs(scale - 1) > 1e-3:
            size = (max(self.crop, round(pixels.shape[1] * scale)), max(self.crop, round(pixels.shape[0] * scale)))
            pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        return pixels

    def crop_of(self, index: int, rng: np.random.Generator) -> torch.Tensor:
        """A random, randomly flipped crop (float (3, crop, crop) in [0, 1]) of picture ``index``."""
        picture = self.pictures[index]
        top = int(rng.integers(picture.shape[0] - self.crop + 1))
        left = int(rng.integers(picture.shape[1] - self.crop + 1))
        crop = picture[top:top + self.crop, left:left + self.crop]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        return torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))).float() / 255

    def random_crop(self, rng: np.random.Generator) -> torch.Tensor:
        """A crop of a random picture."""
        return self.crop_of(int(rng.integers(len(self.pictures))), rng)


HARD_STREAM = 0x4A2D
"""Seed stream of the draw that picks a hard negative (apart from a sample's other draws, which stay as they were)."""


class CleanCrops(Dataset):
    """Sample ``i`` is a deterministic function of (seed, i): image choice, scale, crop, flip and rotation.

    Indices grow without bound (one per training sample), so a resumed run sees exactly the samples it would have.
    Items are dicts with ``target``: the clean (3, S, S) float crop. With ``hard`` (indices into ``files``), a
    share ``p_hard`` of samples is cropped from those photos (:mod:`patina.training.hard_negatives`).
    """

    def __init__(self, files: list[Path], *, crop: int, scale_range: tuple[float, float], seed: int,
                 hard: Sequence[int] = (), p_hard: float = 0.0) -> None:
        if not files:
            raise ConfigError("no training images found")
        if p_hard and not hard:
            raise ConfigError("p_hard_negative > 0 needs a list of hard negatives")
        self.files = files
        self.crop = crop
        self.scale_range = scale_range
        self.seed = seed
        self.hard, self.p_hard = list(hard), p_hard
        self._cache: dict[int, np.ndarray] = {}
        self._cached_bytes = 0

    def __len__(self) -> int:
        return 2**62

    def _decoded(self, file_index: int) -> np.ndarray:
        """The 8-bit RGB pixels of a training file, decoded once per worker while the cache has room."""
        pixels = self._cache.get(file_index)
        if pixels is None:
            pixels = read_rgb_uint8(self.files[file_index])
            if self._cached_bytes + pixels.nbytes <= CACHE_BYTES:
                self._cache[file_index] = pixels
                self._cached_bytes += pixels.nbytes
        return pixels

    def clean_crop(self, index: int) -> np.ndarray:
        """The clean (target) crop for sample ``index``."""
        rng = np.random.default_rng(sample_seed(self.seed, index))
        file_index = int(rng.integers(len(self.files)))
        if self.p_hard:
            hard_rng = np.random.default_rng(sample_seed(self.seed, index, HARD_STREAM))
            if hard_rng.random() < self.p_hard:
                file_index = self.hard[int(hard_rng.integers(len(self.hard)))]
        image: np.ndarray = self._decoded(file_index).astype(np.float32) * np.float32(1 / 255)
        scale = float(rng.uniform(*self.scale_range))
        height, width = image.shape[:2]
        scale = max(scale, self.crop / min(height, width))
        if abs(scale - 1.0) > 1e-3:
            size = (max(self.crop, round(width * scale)), max(self.crop, round(height * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        top = int(rng.integers(image.shape[0] - self.crop + 1))
        left = int(rng.integers(image.shape[1] - self.crop + 1))
        image = image[top : top + self.crop, left : left + self.crop]
        if rng.random() < 0.5:
            image = image[:, ::-1]
        if rng.random() < 0.5:
            image = np.rot90(image)
        return np.ascontiguousarray(np.clip(image, 0.0, 1.0))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"target": torch.from_numpy(np.ascontiguousarray(self.clean_crop(index).transpose(2, 0, 1)))}


class DegradationPairs(CleanCrops):
    """Clean crops with their seeded old-photo degradation: items hold ``degraded`` (3, S, S), ``target``
    (3, S, S) and ``mask`` (1, S, S) float tensors."""

    def __init__(self, files: list[Path], *, crop: int, scale_range: tuple[float, float],
                 degradation: DegradationConfig, seed: int, hard: Sequence[int] = (), p_hard: float = 0.0) -> None:
        super().__init__(files, crop=crop, scale_range=scale_range, seed=seed, hard=hard, p_hard=p_hard)
        self.degradation = degradation

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        clean = self.clean_crop(index)
        sample = degrade(clean, self.degradation, seed=sample_seed(self.seed + 1, index))
        return {
            "degraded": torch.from_numpy(np.ascontiguousarray(sample.degraded.transpose(2, 0, 1))),
            "target": torch.from_numpy(np.ascontiguousarray(sample.target.transpose(2, 0, 1))),
            "mask": torch.from_numpy(np.ascontiguousarray(sample.mask))[None],
        }


class UpscalePairs(CleanCrops):
    """Clean high-resolution crops with their low-resolution inputs: items hold ``input`` (3, S / scale,
    S / scale), ``target`` (3, S, S), and with ``sharpen_target`` also ``sharp`` (the unsharp-masked target).

    ``degradation`` 'bicubic' is the benchmark protocol (MATLAB bicubic, 8-bit); 'realesrgan' the seeded
    second-order degradation of :mod:`patina.degradations.realesrgan`.
    """

    def __init__(self, files: list[Path], *, crop: int, scale_range: tuple[float, float], scale: int,
                 degradation: str, sharpen_target: bool, seed: int) -> None:
        super().__init__(files, crop=crop, scale_range=scale_range, seed=seed)
        if degradation not in ("bicubic", "realesrgan"):
            raise ConfigError(f"degradation must be 'bicubic' or 'realesrgan', got {degradation!r}")
        self.scale = scale
        self.degradation = degradation
        self.sharpen_target = sharpen_target

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        from patina.degradations.realesrgan import second_order, unsharp_mask
        from patina.ops.resize import imresize

        clean = self.clean_crop(index)
        target = torch.from_numpy(np.ascontiguousarray(clean.transpose(2, 0, 1)))
        if self.degradation == "bicubic":
            low = torch.round(imresize(target, 1 / self.scale).clamp(0, 1) * 255) / 255
        else:
            low = torch.from_numpy(second_order(clean, scale=self.scale, seed=sample_seed(self.seed + 1, index)))
            low = low.permute(2, 0, 1).contiguous()
        item = {"input": low, "target": target}
        if self.sharpen_target:
            item["sharp"] = torch.from_numpy(np.ascontiguousarray(unsharp_mask(clean).transpose(2, 0, 1)))
        return item


class CountingSampler(Sampler[int]):
    """Endless sample indices of a run resumed at ``step``: batch ``s`` of process ``rank`` (of
    ``world_size``) holds samples ``(s * world_size + rank) * batch_size + i``, so processes see distinct
    samples, together the ones a single process with their summed batch would; one process counts 0, 1, 2, ..."""

    def __init__(self, step: int = 0, *, batch_size: int = 1, rank: int = 0, world_size: int = 1) -> None:
        self.step, self.batch_size, self.rank, self.world_size = step, batch_size, rank, world_size

    def __iter__(self):
        step = self.step
        while True:
            first = (step * self.world_size + self.rank) * self.batch_size
            yield from range(first, first + self.batch_size)
            step += 1

    def __len__(self) -> int:
        return 2**62


def _worn_thumbnail(rng: np.random.Generator, thumb: np.ndarray) -> np.ndarray:
    """What local damage leaves in a thumbnail, which the tone correction must see past: stains (translucent
    blotches, some opaque), dust and scratch specks, grain and noise."""
    from patina.degradations.wear import blotches

    if rng.random() < 0.35:
        thumb, _ = blotches(thumb, count=int(rng.integers(1, 3)), p_opaque=0.2, seed=int(rng.integers(2**31)))
    if rng.random() < 0.4:
        count = int(rng.integers(1, 16))
        rows, cols = rng.integers(0, thumb.shape[0], count), rng.integers(0, thumb.shape[1], count)
        cover = rng.uniform(0.3, 1.0, (count, 1))
        thumb = thumb.copy()
        thumb[rows, cols] += cover * (np.where(rng.random((count, 1)) < 0.7, 0.95, 0.08) - thumb[rows, cols])
    if rng.random() < 0.5:
        thumb = thumb + rng.normal(0, rng.uniform(0.002, 0.02), thumb.shape)
    return np.asarray(np.clip(thumb, 0, 1), dtype=np.float32)


class ToneThumbnails(Dataset):
    """Whole photos or parts of them squeezed to ``size`` x ``size`` (decoded once), each given wide tone damage
    (:mod:`patina.degradations.tone`): items hold ``degraded`` and ``target`` (3, size, size) float tensors and
    ``gray`` (1.0 for a black-and-white print, else 0.0).

    A share ``p_grayscale`` of samples is made black-and-white first (the target too), a share ``p_untouched``
    gets no tone damage (the correction must leave it alone), flips vary; stains, specks and noise are left
    in the damaged thumbnail (:func:`_worn_thumbnail`), not in the target.
    """

    def __init__(self, files: list[Path], *, size: int, p_grayscale: float, p_untouched: float, seed: int,
                 p_close_untouched: float = 0.0) -> None:
        if not files:
            raise ConfigError("no training images found")
        self.size, self.p_grayscale, self.p_untouched, self.seed = size, p_grayscale, p_untouched, seed
        self.p_close_untouched = p_close_untouched
        self.photos = np.stack([self._thumbnail(path) for path in files])

    def _thumbnail(self, path: Path) -> np.ndarray:
        side = 2 * self.size  # room for the crops of _view
        return cv2.resize(read_rgb_uint8(path), (side, side), interpolation=cv2.INTER_AREA)

    def _view(self, rng: np.random.Generator, photo: np.ndarray, *, close: bool = False) -> np.ndarray:
        """The whole photo (a third of the time) or a random part of it (half of each side or more; with
        ``close`` always a part, a quarter to half of each side), squeezed to ``size``: so many views of each
        photo that the correction learns what photos look like, not what these photos look like (it otherwise
        memorises the corpus and generalises worse)."""
        side = photo.shape[0]
        if close or rng.random() >= 1 / 3:
            low, high = (0.25, 0.5) if close else (0.5, 1.0)
            height, width = (int(side * rng.uniform(low, high)) for _ in range(2))
            top, left = int(rng.integers(0, side - height + 1)), int(rng.integers(0, side - width + 1))
            photo = photo[top : top + height, left : left + width]
        view = cv2.resize(photo, (self.size, self.size), interpolation=cv2.INTER_AREA)
        return view.astype(np.float32) * np.float32(1 / 255)

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        from patina.degradations.color import grayscale
        from patina.degradations.tone import sample_tone_plan, tone_shift

        rng = np.random.default_rng(sample_seed(self.seed, index))
        photo = self.photos[int(rng.integers(len(self.photos)))]
        clean = self._view(rng, photo)
        if rng.random() < 0.5:
            clean = clean[:, ::-1]
        gray = bool(rng.random() < self.p_grayscale)
        if gray:
            clean = grayscale(clean)
        plan = sample_tone_plan(rng, gray=gray, p_untouched=self.p_untouched)
        if plan["untouched"] and not gray and self.p_close_untouched and rng.random() < self.p_close_untouched:
            clean = self._view(rng, photo, close=True)
        degraded = _worn_thumbnail(rng, tone_shift(np.ascontiguousarray(clean), plan))
        return {"degraded": torch.from_numpy(np.ascontiguousarray(degraded.transpose(2, 0, 1), np.float32)),
                "target": torch.from_numpy(np.ascontiguousarray(clean.transpose(2, 0, 1))),
                "gray": torch.tensor(float(gray))}
