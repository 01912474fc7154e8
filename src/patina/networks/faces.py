"""Patina's face detector: a tiny anchor-free network (after YuNet and FCOS) that reads a photo's luminance
and, at strides 8, 16, 32 and 64, gives per cell a face score, the box (distances from the cell's centre to
its four sides) and five landmarks (offsets from the cell's centre), all in units of the cell's stride.

Luminance only, so gray, sepia and colour photos look alike to it. A small feature pyramid (top-down sums)
feeds one head shared by the levels. Trained from labelled faces, each face is the job of the level that
matches its size (:data:`LEVEL_SIZES`); distilled from the teacher (YuNet), the levels at strides 8-32 answer
as the teacher's do and the stride-64 level learns to find nothing.

A detector may carry a second stage, :class:`FaceVerifier` (after MTCNN's refinement net): the dense levels
propose candidates at a low threshold, the verifier reads a patch of luminance around each one
(:func:`face_patches`) and says whether it is a face."""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

from patina.imageio.convert import BT601_LUMA
from patina.ops.faces import Face, suppress_overlaps

STRIDES = (8, 16, 32, 64)
LEVEL_SIZES = (0.0, 40.0, 80.0, 160.0)
"""A face whose box's longer side is at least ``LEVEL_SIZES[i]`` (and under the next) pixels of the
detector's input belongs to level ``i`` (stride ``STRIDES[i]``)."""
OUTPUTS = 1 + 4 + 10
"""Per cell: score logit, box distances (left, top, right, bottom), landmark offsets (x, y) * 5."""
PATCH = 48
"""Side of the square luminance patch the verifier reads around a candidate face."""
PATCH_CONTEXT = 1.5
"""The patch covers this many times the candidate box's longer side: hair, neck and background help tell a face
from a texture that looks like one."""

VERIFY_BATCH_PIXELS = 2**17
"""The verifier reads at most this many patch pixels per call (56 patches of 48 px, 32 of 64 px): on this CPU a
larger batch's first activations outgrow the cache, and 110 patches of 64 px took twice as long as 4 calls of 32."""


def separable(in_channels: int, out_channels: int, *, stride: int = 1) -> nn.Sequential:
    """Depthwise 3x3 (``stride``) then pointwise 1x1, each with batch norm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, stride=stride, padding=1, groups=in_channels, bias=False),
        nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True),
        nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class SeparableBlock(nn.Module):
    """:func:`separable`, with a skip when it keeps the shape."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int = 1) -> None:
        super().__init__()
        self.body = separable(in_channels, out_channels, stride=stride)
        self.skip = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.skip else self.body(x)


class FaceVerifier(nn.Module):
    """(N, 1, ``patch``, ``patch``) luminance patches in [0, 1] around candidate faces -> (N, 1) logits
    that each is a face; with ``boxes``, (N, 5): also where the face's box really is, as four corrections of the
    candidate's corners (x0, y0, x1, y1) in units of its longer side (after MTCNN's refinement net). Four
    stride-2 separable stages down to cells of 16 px (3x3 for :data:`PATCH`), then a small fully connected head
    that sees where in the patch each feature is (eyes above a mouth)."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 48, 64, 96), hidden: int = 64, boxes: bool = False,
                 patch: int = PATCH) -> None:
        super().__init__()
        self.patch = patch
        if len(widths) != 5:
            raise ValueError("the verifier needs 5 widths: the stem, then strides 2, 4, 8, 16")
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU(inplace=True))
        blocks: list[nn.Module] = []
        for before, width in zip(widths, widths[1:], strict=False):
            blocks += [SeparableBlock(before, width, stride=2), SeparableBlock(width, width)]
        self.body = nn.Sequential(*blocks)
        cells = math.ceil(patch / 16) ** 2
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(widths[-1] * cells, hidden), nn.ReLU(inplace=True),
                                  nn.Linear(hidden, 5 if boxes else 1))

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(patches * 2 - 1)))


def face_patches(gray: torch.Tensor, faces: list[Face], *, size: int = PATCH,
                 context: float = PATCH_CONTEXT) -> torch.Tensor:
    """(N, 1, ``size``, ``size``) patches of ``gray`` ((1, 1, H, W)) centred on each face's box, ``context``
    times its longer side wide (the edge pixels repeated beyond the picture). Sampled bilinearly from a copy
    halved as often as keeps a patch pixel at most two source pixels wide, so large faces do not alias."""
    if not faces:
        return gray.new_zeros((0, 1, size, size))
    pyramid = [gray]
    patches = []
    for face in faces:
        side = max(face.size, 1.0) * context
        level = max(0, int(math.floor(math.log2(side / size))) if side > size else 0)
        while len(pyramid) <= level:
            pyramid.append(F.avg_pool2d(pyramid[-1], 2, ceil_mode=True))
        picture = pyramid[level]
        height, width = picture.shape[-2:]
        x0, y0, x1, y1 = (v / 2**level for v in face.box)
        half = side / 2**level / 2
        theta = picture.new_tensor([[2 * half / width, 0.0, (x0 + x1) / width - 1],
                                    [0.0, 2 * half / height, (y0 + y1) / height - 1]])
        grid = F.affine_grid(theta[None], [1, 1, size, size], align_corners=False)
        patches.append(F.grid_sample(picture, grid, mode="bilinear", padding_mode="border", align_corners=False))
    return torch.cat(patches)


class FaceDetector(nn.Module):
    """(N, 1, H, W) luminance in [0, 1], H and W multiples of 64 -> one (N, 15, H/s, W/s) map per stride s of
    :data:`STRIDES` (channels as :data:`OUTPUTS`; box distances are positive, already through softplus).

    With ``verifier`` (its widths), the detector is a cascade: :attr:`verifier` (:class:`FaceVerifier`, reading
    patches of ``verifier_patch`` px) rescores the faces its maps propose (:meth:`verified`)."""

    def __init__(self, *, widths: tuple[int, ...] = (16, 24, 32, 64, 96, 128), pyramid: int = 48,
                 depth: tuple[int, ...] = (1, 1, 2, 2, 2, 1), threshold: float = 0.5,
                 verifier: tuple[int, ...] | None = None, verify_threshold: float = 0.5,
                 verifier_boxes: bool = False, verify_mirrored: bool = False, verifier_patch: int = PATCH) -> None:
        super().__init__()
        self.threshold = threshold
        """The score from which a cell is a face (with a verifier: a candidate): chosen after training (``patina
        train calibrate-face-detector``) and kept in the model card's kwargs."""
        self.verifier = (FaceVerifier(tuple(verifier), boxes=verifier_boxes, patch=verifier_patch) if verifier
                         else None)
        self.verify_threshold = verify_threshold
        """The score from which a verified candidate is a face (:meth:`verified`; calibrated as ``threshold`` is)."""
        self.verify_mirrored = verify_mirrored
        """Whether the verifier also reads each patch mirrored left to right and its two answers are averaged."""
        if len(widths) != 6 or len(depth) != 6:
            raise ValueError("widths and depth need 6 entries: strides 2, 4, 8, 16, 32, 64")
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        stages, channels = [], widths[0]
        for index, (width, count) in enumerate(zip(widths, depth, strict=True)):
            blocks = [SeparableBlock(channels, width, stride=1 if index == 0 else 2)]
            blocks += [SeparableBlock(width, width) for _ in range(count - 1)]
            stages.append(nn.Sequential(*blocks))
            channels = width
        self.stages = nn.ModuleList(stages)
        self.lateral = nn.ModuleList(nn.Conv2d(width, pyramid, 1) for width in widths[2:])
        self.smooth = nn.ModuleList(separable(pyramid, pyramid) for _ in STRIDES)
        last = nn.Conv2d(pyramid, OUTPUTS, 1)
        prior = torch.zeros(OUTPUTS)
        prior[0] = -4.6  # every cell starts at a score of 1%: faces are rare (the focal-loss prior)
        last.bias = nn.Parameter(prior)
        self.head = nn.Sequential(separable(pyramid, pyramid), last)
        self.level_scale = nn.Parameter(torch.ones(len(STRIDES)))

    def fused(self) -> FaceDetector:
        """This network for inference with every batch norm folded into its convolution (same outputs, faster);
        trains no more."""
        for sequential in [m for m in self.modules() if isinstance(m, nn.Sequential)]:
            for index in range(len(sequential) - 1):
                conv, norm = sequential[index], sequential[index + 1]
                if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                    sequential[index] = fuse_conv_bn_eval(conv.eval(), norm.eval())
                    sequential[index + 1] = nn.Identity()
        return self.eval()

    def verified(self, gray: torch.Tensor, faces: list[Face], threshold: float | None = None) -> list[Face]:
        """``faces`` found in ``gray`` ((1, 1, H, W)) rescored by the verifier: each face's score becomes the
        geometric mean of its own and the verifier's probability (two views of the same candidate), its box the
        verifier's correction of it when it gives one, and faces scoring under ``threshold`` (default
        :attr:`verify_threshold`) or overlapping a better one are dropped. Without a verifier, ``faces`` as
        they are."""
        if self.verifier is None or not faces:
            return faces
        limit = self.verify_threshold if threshold is None else threshold
        answers = self.verifier_answers(face_patches(gray, faces, size=self.verifier.patch))
        corrects_boxes = answers.shape[1] == 5
        rescored = []
        for face, answer in zip(faces, answers, strict=True):
            score = math.sqrt(face.score * float(torch.sigmoid(answer[0])))
            if score < limit:
                continue
            box = face.box
            if corrects_boxes:
                x0, y0, x1, y1 = (v + face.size * float(d) for v, d in zip(face.box, answer[1:], strict=True))
                box = (x0, y0, x1, y1)
            rescored.append(replace(face, score=score, box=box))
        return suppress_overlaps(rescored) if corrects_boxes else rescored

    def verifier_answers(self, patches: torch.Tensor) -> torch.Tensor:
        """The verifier's (N, 1 or 5) answers for ``patches`` (float32, CPU); with :attr:`verify_mirrored`, the
        mean of its answers for the patches and for their mirror images (whose box corrections are mirrored back:
        the left edge's is the right edge's, negated)."""
        assert self.verifier is not None
        answers = self._verify(patches)
        if not self.verify_mirrored:
            return answers
        mirrored = self._verify(patches.flip(-1))
        if answers.shape[1] == 5:  # (logit, x0, y0, x1, y1) seen mirrored -> (logit, -x1, y0, -x0, y1)
            mirrored = torch.stack([mirrored[:, 0], -mirrored[:, 3], mirrored[:, 2], -mirrored[:, 1],
                                    mirrored[:, 4]], dim=1)
        return (answers + mirrored) / 2

    def _verify(self, patches: torch.Tensor) -> torch.Tensor:
        """The verifier's float32 answers, :data:`VERIFY_BATCH_PIXELS` of patch pixels per call."""
        assert self.verifier is not None
        count = max(1, VERIFY_BATCH_PIXELS // self.verifier.patch**2)
        parts = patches.split(count) or (patches,)  # no patches: one empty call, for the answers' shape
        return torch.cat([self.verifier(part).float().cpu() for part in parts])

    def forward(self, luminance: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(luminance * 2 - 1)
        features = []
        for index, stage in enumerate(self.stages):
            x = stage(x)
            if index >= 2:
                features.append(x)
        merged: list[torch.Tensor] = []
        top = None
        for lateral, feature in zip(reversed(self.lateral), reversed(features), strict=True):
            level = lateral(feature)
            if top is not None:
                level = level + F.interpolate(top, size=level.shape[-2:], mode="nearest")
            merged.insert(0, level)
            top = level
        outputs = []
        for index, (smooth, level) in enumerate(zip(self.smooth, merged, strict=True)):
            raw = self.head(smooth(level))
            boxes = F.softplus(raw[:, 1:5] * self.level_scale[index])
            outputs.append(torch.cat([raw[:, :1], boxes, raw[:, 5:]], dim=1))
        return outputs


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB -> (N, 1, H, W) BT.601 luma: what the detector reads."""
    return (rgb * rgb.new_tensor(BT601_LUMA).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


def cell_centres(height: int, width: int, stride: int, device: torch.device | None = None) -> torch.Tensor:
    """(height * width, 2) x, y of the cells' centres of a level, in input pixels, row by row."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij")
    return (torch.stack([xs, ys], dim=-1).reshape(-1, 2).float() + 0.5) * stride


def decode_faces(outputs: list[torch.Tensor], *, threshold: float = 0.5, overlap: float = 0.4,
                 most: int = 200) -> list[list[Face]]:
    """The faces of each picture of a batch from :class:`FaceDetector`'s ``outputs``: cells scoring at least
    ``threshold`` (at most ``most`` per picture), boxes and landmarks in input pixels, overlaps suppressed
    (non-maximum suppression at IoU ``overlap``)."""
    batch = outputs[0].shape[0]
    found: list[list[Face]] = [[] for _ in range(batch)]
    for stride, level in zip(STRIDES, outputs, strict=True):
        centres = cell_centres(level.shape[2], level.shape[3], stride, level.device)
        flat = level.detach().float().flatten(2).transpose(1, 2)  # (N, cells, 15)
        scores = torch.sigmoid(flat[..., 0])
        for index in range(batch):
            cells = torch.nonzero(scores[index] >= threshold).flatten()
            if len(cells) > most:
                cells = cells[torch.topk(scores[index, cells], most).indices]
            values, centre = flat[index, cells], centres[cells]
            boxes = torch.cat([centre - values[:, 1:3] * stride, centre + values[:, 3:5] * stride], dim=1)
            points = centre[:, None, :] + values[:, 5:15].reshape(-1, 5, 2) * stride
            for box, landmark, score in zip(boxes.tolist(), points.tolist(), scores[index, cells].tolist(),
                                            strict=True):
                found[index].append(Face(box=tuple(box), landmarks=tuple(map(tuple, landmark)), score=score))
    return [suppress_overlaps(faces, overlap)[:most] for faces in found]


__all__ = ["LEVEL_SIZES", "OUTPUTS", "PATCH", "PATCH_CONTEXT", "STRIDES", "FaceDetector", "FaceVerifier",
           "face_patches", "cell_centres", "decode_faces", "luminance"]
