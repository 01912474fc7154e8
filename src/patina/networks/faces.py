"""Patina's face detector: a tiny anchor-free network (after YuNet and FCOS) that reads a photo's luminance
and, at strides 8, 16, 32 and 64, gives per cell a face score, the box (distances from the cell's centre to
its four sides) and five landmarks (offsets from the cell's centre), all in units of the cell's stride.

Luminance only, so gray, sepia and colour photos look alike to it. A small feature pyramid (top-down sums)
feeds one head shared by the levels. Trained from labelled faces, each face is the job of the level that
matches its size (:data:`LEVEL_SIZES`); distilled from the teacher (YuNet), the levels at strides 8-32 answer
as the teacher's do and the stride-64 level learns to find nothing."""

from __future__ import annotations

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


class FaceDetector(nn.Module):
    """(N, 1, H, W) luminance in [0, 1], H and W multiples of 64 -> one (N, 15, H/s, W/s) map per stride s of
    :data:`STRIDES` (channels as :data:`OUTPUTS`; box distances are positive, already through softplus)."""

    def __init__(self, *, widths: tuple[int, ...] = (16, 24, 32, 64, 96, 128), pyramid: int = 48,
                 depth: tuple[int, ...] = (1, 1, 2, 2, 2, 1), threshold: float = 0.5) -> None:
        super().__init__()
        self.threshold = threshold
        """The score from which a cell is a face: chosen after training (``patina train calibrate-face-detector``)
        and kept in the model card's kwargs."""
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


__all__ = ["LEVEL_SIZES", "OUTPUTS", "STRIDES", "FaceDetector", "cell_centres", "decode_faces", "luminance"]
