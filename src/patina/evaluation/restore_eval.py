"""``patina eval restore``: degrade clean evaluation sets with fixed seeds and score input, baseline and model.

Protocol ``restore_eval`` (what a model card's ``restore_eval/<set>`` metrics mean): the images of a set are
sorted by relative path; image ``i`` is degraded by :func:`patina.degradations.chain.degrade` with
``EVAL_CONFIG`` and seed ``i`` (+ an optional offset); PSNR and SSIM (:mod:`patina.ops.metrics`, 8-bit, whole
image, RGB) are measured against the sample's target (the clean image, gray for a black-and-white photo) for

* ``degraded``: the degraded input itself,
* ``baseline``: :func:`patina.evaluation.baselines.classical_restore` with the damage mask detected by the
  pipeline's mask network (probability > 0.5, dilated by 1 px), i.e. the same information the model gets,
* ``model``: the restoration pipeline's output.

Protocol ``restore_eval_independent`` is the same with the images aged by
:func:`patina.evaluation.aging.age_photo` instead: a chain written apart from the training one, never trained on.
Protocol ``restore_eval_clean`` gives the pipeline the clean images themselves ("first do no harm": PSNR of
the output to the input; no ``degraded`` row, which would be a perfect score).

Seconds per image are wall time of the classical ops alone (baseline; the mask network's forward pass is not
counted) and of the whole pipeline call (model: mask network + generator + tiling, result on the CPU).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from patina.core.errors import ParameterError
from patina.degradations.chain import EVAL_CONFIG, DegradationConfig, degrade
from patina.evaluation.aging import age_photo
from patina.evaluation.baselines import classical_restore, detected_mask
from patina.evaluation.common import score, to_tensor
from patina.evaluation.protocol import EvalProtocol, EvalSet, model_settings
from patina.evaluation.report import EvalReport, ImageScore

PROTOCOL = "restore_eval"
CHAINS = {"training": PROTOCOL, "independent": "restore_eval_independent", "clean": "restore_eval_clean"}
"""The aging chains an evaluation can use, with the protocol name (model card metrics key) of each:
``training`` is :func:`patina.degradations.chain.degrade` with ``EVAL_CONFIG`` (the chain the model was trained
on), ``independent`` is :func:`patina.evaluation.aging.age_photo`, written apart from it for validation only,
``clean`` is no aging at all (a good photo must come through almost unchanged)."""
METHODS = {"degraded": "degraded input", "baseline": "classical baseline", "model": "model"}
BASELINE_MASKS = ("detected", "oracle", "none")


class RestoreModel(Protocol):
    """What :class:`RestoreEval` needs of a pipeline (``RestorePipeline`` is one)."""

    def __call__(self, image: torch.Tensor) -> torch.Tensor: ...

    def detect_damage(self, image: torch.Tensor) -> torch.Tensor: ...


class RestoreEval(EvalProtocol):
    """The ``restore_eval`` protocol (module docstring).

    Args:
        pipeline: a ``RestorePipeline`` (or anything with ``__call__`` and ``detect_damage``); None scores only
            the degraded input and the baseline (which then needs ``baseline_mask`` 'oracle' or 'none').
        seeds_offset: image ``i`` gets seed ``i + seeds_offset``.
        baseline_mask: the baseline's inpainting mask: 'detected' (the pipeline's mask network; the protocol),
            'oracle' (the true damage mask: an upper bound for diagnosis) or 'none' (no inpainting).
        limit: evaluate only the first ``limit`` images of each set.
        chain: 'training' or 'independent' (:data:`CHAINS`).
    """

    task = "restore"
    protocol = PROTOCOL
    card_settings = ("mask_model", "tone_model", "tone", "device", "ensemble")

    def __init__(self, pipeline: RestoreModel | None, *, seeds_offset: int = 0, baseline_mask: str = "detected",
                 config: DegradationConfig = EVAL_CONFIG, limit: int | None = None, chain: str = "training") -> None:
        if baseline_mask not in BASELINE_MASKS:
            raise ParameterError(f"baseline_mask must be one of {', '.join(BASELINE_MASKS)}, got {baseline_mask!r}")
        if baseline_mask == "detected" and pipeline is None:
            raise ParameterError("baseline_mask='detected' needs a pipeline with a damage-mask network")
        if chain not in CHAINS:
            raise ParameterError(f"chain must be one of {', '.join(CHAINS)}, got {chain!r}")
        super().__init__(limit=limit)
        self.chain, self.protocol = chain, CHAINS[chain]
        self.pipeline, self.seeds_offset, self.baseline_mask = pipeline, seeds_offset, baseline_mask
        self.config = config
        keys = (() if chain == "clean" else ("degraded",)) + ("baseline",) + (("model",) if pipeline else ())
        self.methods = {key: METHODS[key] for key in keys}

    @classmethod
    def load(cls, model: str, *, mask_model: str | None, device: str, ensemble: bool, baseline_mask: str,
             limit: int | None, chain: str = "training", tone_model: str | None = None,
             tone: str = "keep") -> RestoreEval:
        """The protocol for a restore model (and its damage-mask and tone models) given by name, as ``patina
        restore`` runs it."""
        from patina.pipelines.restore import RestorePipeline

        pipeline = RestorePipeline(model=model, mask_model=mask_model, tone_model=tone_model, tone=tone,
                                   device=device, ensemble=ensemble)
        protocol = cls(pipeline, baseline_mask=baseline_mask, limit=limit, chain=chain)
        protocol.model_settings = {**model_settings(model, pipeline.card), "mask_model": pipeline.mask_model_name,
                                   "tone_model": pipeline.tone_model_name, "tone": tone,
                                   "device": str(pipeline.device), "ensemble": ensemble}
        protocol.card_models = [model]
        return protocol

    def settings(self) -> dict[str, Any]:
        return {"seeds_offset": self.seeds_offset, "baseline_mask": self.baseline_mask, "chain": self.chain}

    def seed(self, index: int) -> int:
        return index + self.seeds_offset

    def score_image(self, eval_set: EvalSet, name: str, image: np.ndarray, seed: int | None) -> dict[str, ImageScore]:
        if seed is None:  # never: every image has a seed (see seed)
            raise ValueError(f"{name}: restore_eval needs a seed per image")
        if self.chain == "independent":
            aged = age_photo(image, seed)
            sample_target, sample_degraded, sample_mask = aged.target, aged.aged, aged.mask
        elif self.chain == "clean":
            sample_target = sample_degraded = np.asarray(image, dtype=np.float32)
            sample_mask = np.zeros(image.shape[:2], np.float32)
        else:
            sample = degrade(image, self.config, seed=seed)
            sample_target, sample_degraded, sample_mask = sample.target, sample.degraded, sample.mask
        target = to_tensor(sample_target)
        degraded = to_tensor(sample_degraded)
        scores = {} if self.chain == "clean" else {"degraded": ImageScore(name, *score(degraded, target))}
        with torch.inference_mode():
            if self.baseline_mask == "detected":
                if self.pipeline is None:  # never: the constructor requires one for 'detected'
                    raise ParameterError("baseline_mask='detected' needs a pipeline with a damage-mask network")
                mask = detected_mask(self.pipeline.detect_damage(degraded)[0, 0].float().cpu().numpy())
            elif self.baseline_mask == "oracle":
                mask = detected_mask(sample_mask)
            else:
                mask = None
            start = time.perf_counter()
            baseline = classical_restore(sample_degraded, mask)
            scores["baseline"] = ImageScore(name, *score(to_tensor(baseline), target), time.perf_counter() - start)
            if self.pipeline is not None:
                start = time.perf_counter()
                restored = self.pipeline(degraded).detach().float().cpu()
                seconds = time.perf_counter() - start
                if restored.shape != degraded.shape:
                    raise RuntimeError(f"pipeline returned shape {tuple(restored.shape)} for input "
                                       f"{tuple(degraded.shape)}")
                scores["model"] = ImageScore(name, *score(restored, target), seconds)
        if self.sheet.wants(eval_set.name):
            self.show(eval_set, name, {"degraded": degraded, "baseline": to_tensor(baseline),
                                       **({"model": restored} if self.pipeline is not None else {}),
                                       "truth": target})
        return scores


def evaluate_restore(
    data_dirs: Iterable[str | Path],
    *,
    pipeline: RestoreModel | None,
    seeds_offset: int = 0,
    limit: int | None = None,
    progress: bool = True,
    baseline_mask: str = "detected",
    config: DegradationConfig = EVAL_CONFIG,
    settings: dict[str, Any] | None = None,
    command: str = "",
    chain: str = "training",
) -> EvalReport:
    """Run the ``restore_eval`` protocol (module docstring, :class:`RestoreEval`) on each set (a folder of clean
    images, named after the folder); ``settings`` are recorded in the report beside the protocol's."""
    protocol = RestoreEval(pipeline, seeds_offset=seeds_offset, baseline_mask=baseline_mask, config=config,
                           limit=limit, chain=chain)
    protocol.model_settings = dict(settings or {})
    return protocol.run(list(data_dirs), progress=progress, command=command)


__all__ = ["BASELINE_MASKS", "CHAINS", "METHODS", "PROTOCOL", "RestoreEval", "evaluate_restore"]
