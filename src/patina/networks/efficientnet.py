"""EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant: ReLU6, no squeeze-excite), an ImageNet classifier
used as a TEACHER of semantic features (what is in the picture) for colorization: never shipped.

Parameter names follow EfficientNet-PyTorch (``_conv_stem``, ``_blocks.N._expand_conv`` ...), so the state
dict of ../shared/weights/teachers/efficientnet_lite0 loads unchanged. Convolutions pad as TensorFlow's
"SAME" does (output = ceil(input / stride), the odd pixel at the bottom/right), BatchNorm eps 1e-3.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    # repeats, kernel, stride, expansion, in, out
    (1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320),
)
FEATURE_BLOCKS = {8: 4, 16: 10, 32: 15}
"""The block after which the feature map of each stride (1/8, 1/16, 1/32) is taken."""
FEATURE_CHANNELS = {8: 40, 16: 112, 32: 320}
BN_EPS = 1e-3


def imagenet_input(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] -> the network's input: (x * 255 - 127) / 128."""
    return (rgb * 255.0 - 127.0) / 128.0


class SameConv2d(nn.Conv2d):
    """A convolution padded as TensorFlow's "SAME": out = ceil(in / stride), the odd pixel at the end."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, kernel, stride in zip(x.shape[-1:-3:-1], self.kernel_size[::-1], self.stride[::-1], strict=True):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expansion (unless 1), depthwise kxk, 1x1 projection; a skip when shapes allow."""

    def __init__(self, kernel: int, stride: int, expansion: int, channels_in: int, channels_out: int) -> None:
        super().__init__()
        hidden = channels_in * expansion
        self.expand = expansion != 1
        if self.expand:
            self._expand_conv = SameConv2d(channels_in, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride=stride, groups=hidden, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._project_conv = SameConv2d(hidden, channels_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(channels_out, eps=BN_EPS)
        self.skip = stride == 1 and channels_in == channels_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.skip else out


class EfficientNetLite0(nn.Module):
    """The classifier; :meth:`features` gives the 1/8, 1/16 and 1/32 maps, :meth:`forward` the 1000 logits.
    Input: :func:`imagenet_input` of sRGB (any size; 224 x 224 is what it was trained at)."""

    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, kernel, stride, expansion, channels_in, channels_out in STAGES:
            for index in range(repeats):
                blocks.append(MBConv(kernel, stride if index == 0 else 1, expansion,
                                     channels_in if index == 0 else channels_out, channels_out))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, classes)

    def features(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """{8: (N, 40, H/8, W/8), 16: (N, 112, H/16, W/16), 32: (N, 320, H/32, W/32)} (sizes rounded up)."""
        out = F.relu6(self._bn0(self._conv_stem(x)))
        taken = {}
        wanted = {block: stride for stride, block in FEATURE_BLOCKS.items()}
        for index, block in enumerate(self._blocks):
            out = block(out)
            if index in wanted:
                taken[wanted[index]] = out
        return taken

    def classify(self, deepest: torch.Tensor) -> torch.Tensor:
        """The logits (N, classes) from the 1/32 feature map."""
        head = F.relu6(self._bn1(self._conv_head(deepest)))
        return self._fc(head.mean(dim=(2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x)[32])


__all__ = ["FEATURE_CHANNELS", "EfficientNetLite0", "imagenet_input"]
