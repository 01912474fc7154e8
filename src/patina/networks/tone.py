"""Global tone and colour correction: a small network reads a thumbnail of the WHOLE photo and predicts a
parametric correction (a monotone tone curve per channel, then a 3 x 3 colour matrix and offset) that is
applied to every pixel at full resolution: cheap, and identical across the tiles of a large scan.

    net = ToneCorrector()
    params = net.predict(thumbnail(photo))        # (N, net.parameter_count), once per photo
    corrected = net.correct(tile, params)           # any tile of the photo, any size
    params, amount = net.propose(thumbnail(photo))  # with the gate: how much of it to apply, per photo
    corrected = net.blend(tile, params, amount)

With ``grid`` the correction also varies smoothly over the photo (uneven fading): the tiles of a large scan then
say where they lie in it (``box``).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn
from torch.nn import functional as F

from patina.networks.blocks import zero_init

QUANTILES = (0.01, 0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95, 0.99)
"""Per-channel levels of the thumbnail the predictor sees next to its learnt features."""

_IDENTITY_INCREMENT = math.log(math.e - 1)
"""softplus of this is 1: raw curve increments of zero give the identity curve."""

LUMA = (0.299, 0.587, 0.114)
"""BT.601 luma weights of R, G, B."""

LEVELS_MARGIN = 0.02
"""With ``levels``, each channel's darkest and lightest thumbnail values are stretched to this margin inside
[0, 1], so the few full-resolution pixels beyond them keep their detail for the learnt curve. (Stretching to the
thumbnail's extremes undid held-out photos' fades better than to its 0.2 % or 1 % levels, with either chain.)"""
MIN_SPAN = 0.05
"""The smallest level range a channel is stretched from, about its middle (a flat channel is not blown up)."""

ROWS_PER_PASS = 128
"""A gridded correction works on bands of this many rows (bounding the memory its per-pixel curves take)."""

Box = tuple[int, int, int, int]
"""Where an image lies in a photo: the row and column of its first pixel in the photo, the photo's height and
width (all in the image's pixels)."""

GATE = (0.02, 0.04)
"""A correction that changes a photo's thumbnail by less than the first mean amount is not applied, by more
than the second in full, in between in part: a photo that needs no correction is left alone rather than
nudged (set on held-out training photos, ``benchmarks/tone_gate.py``)."""


def _bilinear_weights(start: int, length: int, total: int, cells: int, device: torch.device) -> torch.Tensor:
    """(length, cells) weights that interpolate values at the centres of ``cells`` equal cells over ``total``
    pixels linearly to the centres of pixels ``start`` .. ``start + length - 1`` (held flat beyond the first
    and last centre)."""
    position = ((start + torch.arange(length, device=device) + 0.5) * (cells / total) - 0.5).clamp(0, cells - 1)
    below = position.floor().clamp(max=max(cells - 2, 0))
    above_share = (position - below)[:, None]
    index = torch.arange(cells, device=device)[None, :]
    return (index == below[:, None]) * (1 - above_share) + (index == below[:, None] + 1) * above_share


def _luma(flat: torch.Tensor) -> torch.Tensor:
    """(N, 1, P) luma of pixels ``flat`` (N, 3, P)."""
    return (flat * flat.new_tensor(LUMA)[None, :, None]).sum(dim=1, keepdim=True)


class ToneCorrector(nn.Module):
    """Thumbnail (N, 3, 64, 64) -> correction parameters; :meth:`correct` corrects an image with them.

    The correction is ``matrix @ curve(x) + offset``: ``curve`` is a per-channel monotone piecewise-linear
    curve with ``knots`` segments on [0, 1] (undoes dye fading, lifted blacks, casts, exposure), the matrix
    restores saturation and cross-channel fading. The last layer starts at zero, so a new network is the
    identity, or with ``levels`` automatic levels: each channel is first stretched between its darkest and
    lightest value in the thumbnail (which alone undoes most of a fade's lifted blacks and lowered whites), the network
    sees the stretched thumbnail and its curve and matrix refine from there (or undo the stretch for a photo
    that needs none). The two stretch numbers per channel lead the parameters, so tiles share them. With
    ``bands`` the predictor also reads the colour of the thumbnail's shadows, mid-tones and highlights
    (:meth:`band_colours`). With ``grid`` the curve, matrix and offset are those of the whole photo plus a
    learnt change for each cell of a ``grid`` x ``grid`` lattice over it, interpolated bilinearly between the
    cells' centres (the head of that change starts at zero: a new lattice is the whole photo's correction).
    """

    def __init__(self, *, knots: int = 16, width: int = 96, levels: bool = False, bands: int = 0,
                 grid: int = 0) -> None:
        super().__init__()
        self.knots, self.levels, self.bands, self.grid = knots, levels, bands, grid
        layers: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise((3, 24, 48, width, width)):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        self.encoder = nn.Sequential(*layers)
        self.stretch_count = 6 if levels else 0
        self.table_size = 3 * (knots + 1)  # each channel's curve values at the knots
        self.curve_count = self.table_size + 12  # the curves, then the matrix and offset
        self.parameter_count = self.stretch_count + self.curve_count * (1 + grid * grid)
        statistics = 3 * len(QUANTILES) + 6 + 4 * bands  # levels, channel means, mean chroma, band colours
        self.mlp = nn.Sequential(nn.Linear(2 * width + statistics, 192), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(192, 192), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(192, self.curve_count))
        zero_init(self.mlp[-1])
        if grid:  # each cell's features and the whole photo's -> the cell's change
            self.cells = nn.Sequential(nn.Conv2d(2 * width, 96, 1), nn.LeakyReLU(0.2, inplace=True),
                                       nn.Conv2d(96, self.curve_count, 1))
            zero_init(self.cells[-1])

    def predict(self, thumb: torch.Tensor) -> torch.Tensor:
        """Correction parameters (N, parameter_count) for whole photos from their thumbnails (N, 3, h, w)."""
        thumb = thumb.float()
        flat = thumb.flatten(2)
        quantiles = torch.quantile(flat, flat.new_tensor(QUANTILES), dim=2).permute(1, 0, 2)  # (N, levels, 3)
        means = flat.mean(dim=2)
        gray = _luma(flat)
        chroma = (flat - gray).mean(dim=2)
        band_colours = self._band_means(flat, gray)
        stretch = thumb.new_zeros(thumb.shape[0], 0)
        if self.levels:
            darkest, lightest = flat.amin(dim=2), flat.amax(dim=2)
            centre = (lightest + darkest) / 2
            span = (lightest - darkest).clamp_min(MIN_SPAN)
            low = centre - (0.5 + LEVELS_MARGIN) * span
            stretch = torch.cat([low, span * (1 + 2 * LEVELS_MARGIN)], dim=1)
            thumb = self._stretched(thumb, stretch)
        features = self.encoder(thumb)
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)
        learnt = self.mlp(torch.cat([pooled, quantiles.flatten(1), means, chroma, band_colours], dim=1))
        if not self.grid:
            return torch.cat([stretch, learnt], dim=1)
        local = F.adaptive_avg_pool2d(features, self.grid)
        whole = features.mean(dim=(2, 3), keepdim=True).expand_as(local)
        cells = self.cells(torch.cat([local, whole], dim=1))  # (N, curve_count, grid, grid)
        return torch.cat([stretch, learnt, cells.flatten(1)], dim=1)

    def band_colours(self, thumb: torch.Tensor) -> torch.Tensor:
        """(N, 4 * bands), flattened from (N, 4, bands): the thumbnail's pixels ranked by luma and cut into
        ``bands`` equal shares (darkest first), and per share the mean luma, then the mean chroma of R, G and B
        (each minus luma): the colour of the shadows, mid-tones and highlights, which tells a dye fade (each dye's
        channel lifted in the shadows by its own amount) from a scene's own colour. Empty without ``bands``."""
        flat = thumb.float().flatten(2)
        return self._band_means(flat, _luma(flat))

    def _band_means(self, flat: torch.Tensor, gray: torch.Tensor) -> torch.Tensor:
        """:meth:`band_colours` of pixels ``flat`` (N, 3, P) with their luma ``gray`` (N, 1, P)."""
        if not self.bands:
            return flat.new_zeros(len(flat), 0)
        ranked = torch.cat([gray, flat - gray], dim=1).gather(2, gray.argsort(dim=2).expand(-1, 4, -1))
        usable = ranked.shape[2] // self.bands * self.bands
        return ranked[..., :usable].unflatten(2, (self.bands, -1)).mean(dim=3).flatten(1)

    @staticmethod
    def _stretched(image: torch.Tensor, stretch: torch.Tensor) -> torch.Tensor:
        """Each channel of ``image`` mapped from [low, low + span] to [0, 1] (``stretch``: lows, then spans)."""
        low, span = stretch[:, :3, None, None], stretch[:, 3:6, None, None]
        return ((image.float() - low) / span).clamp(0.0, 1.0)

    def correct(self, image: torch.Tensor, params: torch.Tensor, box: Box | None = None) -> torch.Tensor:
        """``image`` (N, 3, H, W) in [0, 1] corrected by ``params`` from :meth:`predict` (float32 result).
        ``box``: where ``image`` lies in the photo the parameters were predicted for (:data:`Box`); default:
        it is the whole photo. Only a corrector with a ``grid`` needs it."""
        if self.levels:
            image = self._stretched(image, params[:, :6].float())
        params = params[:, self.stretch_count :].float()
        whole = params[:, : self.curve_count]
        n, c, h, w = image.shape
        if not self.grid:
            values, matrix, offset = self._decode(whole)
            table = values[..., None, None].expand(n, c, self.knots + 1, h, w)  # the photo's curves at every pixel
            return self._curve_and_mix(image, table, "nij,njhw->nihw", matrix) + offset[:, :, None, None]
        cells = whole[:, :, None, None] + params[:, self.curve_count :].unflatten(1, (-1, self.grid, self.grid))
        values, matrix, offset = self._decode(cells)  # per cell; then interpolated to every pixel
        packed = torch.cat([values.flatten(1, 2), matrix.flatten(1, 2), offset], dim=1)
        top, left, height, width = box if box is not None else (0, 0, h, w)
        cols = _bilinear_weights(left, w, width, self.grid, packed.device)
        table_size = self.table_size
        bands = []
        for first in range(0, h, ROWS_PER_PASS):  # a band of rows at a time: each pixel holds its own curves
            band = image[..., first : first + ROWS_PER_PASS, :]
            rows = _bilinear_weights(top + first, band.shape[-2], height, self.grid, packed.device)
            at_pixels = torch.einsum("hy,ncyx,wx->nchw", rows, packed, cols)
            table = at_pixels[:, :table_size].unflatten(1, (3, self.knots + 1))
            matrix = at_pixels[:, table_size : table_size + 9].unflatten(1, (3, 3))
            bands.append(self._curve_and_mix(band, table, "nijhw,njhw->nihw", matrix) + at_pixels[:, table_size + 9 :])
        return torch.cat(bands, dim=2)

    def _decode(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw correction parameters (N, curve_count, ...) -> each channel's curve values at the knots
        (N, 3, knots + 1, ...), the colour matrix (N, 3, 3, ...) and offset (N, 3, ...)."""
        knots = self.knots
        curves = raw[:, : self.table_size].unflatten(1, (3, knots + 1))
        start = curves[:, :, :1]
        steps = F.softplus(curves[:, :, 1:] + _IDENTITY_INCREMENT) / knots
        values = torch.cat([start, start + steps.cumsum(dim=2)], dim=2)
        rest = raw[:, self.table_size :]
        identity = torch.eye(3, device=raw.device).view(1, 3, 3, *[1] * (raw.ndim - 2))
        return values, identity + rest[:, :9].unflatten(1, (3, 3)), rest[:, 9:12]

    def _curve_and_mix(self, image: torch.Tensor, table: torch.Tensor, mixing: str,
                       matrix: torch.Tensor) -> torch.Tensor:
        """``image`` (N, 3, H, W) through the curves whose values at the knots ``table`` (N, 3, knots + 1, H, W)
        holds for each pixel, then the colour ``matrix`` (one per photo or per pixel, by the einsum ``mixing``)."""
        knots = self.knots
        x = image.float().clamp(0, 1).unsqueeze(2) * knots
        index = x.floor().clamp_(max=knots - 1)
        fraction = x - index
        index = index.long()
        low = torch.gather(table, 2, index)
        high = torch.gather(table, 2, index + 1)
        return torch.einsum(mixing, matrix, (low + fraction * (high - low)).squeeze(2))

    def propose(self, thumb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Correction parameters for photos from their thumbnails (N, 3, h, w), and how much of each correction
        to apply (N,), by :data:`GATE` on the mean change it would make to the thumbnail."""
        params = self.predict(thumb)
        change = (self.correct(thumb, params).clamp(0.0, 1.0) - thumb.float()).abs().mean(dim=(1, 2, 3))
        return params, ((change - GATE[0]) / (GATE[1] - GATE[0])).clamp(0.0, 1.0)

    def blend(self, image: torch.Tensor, params: torch.Tensor, amount: torch.Tensor,
              box: Box | None = None) -> torch.Tensor:
        """``image`` (N, 3, H, W) moved ``amount`` (N,) of the way to its correction by ``params``, in [0, 1]
        (``box``: as for :meth:`correct`)."""
        corrected = self.correct(image, params, box).clamp_(0.0, 1.0)
        return image.float() + amount.float().view(-1, 1, 1, 1) * (corrected - image.float())

    def forward(self, image: torch.Tensor, thumb: torch.Tensor) -> torch.Tensor:
        """``image`` corrected with the parameters predicted from ``thumb`` (the whole photo's thumbnail)."""
        return self.correct(image, self.predict(thumb))
