"""How many pixels this process decodes at once: large decodes wait for each other, so that a few huge images
arriving together (uploads, jobs, a batch) cannot together exhaust the memory.

A decode of ``n`` pixels takes ``n`` from the budget (``PATINA_DECODE_BUDGET_MP``, default 250 million pixels)
until it is done; small images (under :data:`SMALL`) never wait; an image larger than the whole budget runs
alone. A decode that has waited ``PATINA_DECODE_WAIT`` seconds (default 120) is refused with a BusyError (the
service answers 503 with Retry-After; an import reports the file and goes on), so requests do not pile up.
Decoding a 196 MP RGB PNG (and checking it on import) takes the server to about 2.4 GiB at its peak, so the
default lets one such image, or many ordinary scans, decode at a time (`benchmarks/service_bombs.py`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from patina.core.errors import BusyError

SMALL = 16_000_000
"""Images of fewer pixels decode without asking the budget."""


class DecodeBudget:
    """A count of pixels in flight, waited on (see the module)."""

    def __init__(self, pixels: int, wait: float = 120.0) -> None:
        self.pixels, self.wait = max(1, pixels), wait
        self.in_flight = 0
        self._changed = threading.Condition()

    @contextmanager
    def decoding(self, pixels: int) -> Iterator[None]:
        """Hold ``pixels`` of the budget for the block (waiting until they are free; BusyError after
        ``wait`` seconds)."""
        if pixels < SMALL:
            yield
            return
        with self._changed:
            # an image larger than the budget waits for an empty budget, then runs alone
            if not self._changed.wait_for(lambda: self.in_flight == 0 or self.in_flight + pixels <= self.pixels,
                                          timeout=self.wait):
                raise BusyError(f"other large images are being decoded; this one ({pixels / 1e6:.0f} MP) waited "
                                f"{self.wait:g} s: try again in a moment")
            self.in_flight += pixels
        try:
            yield
        finally:
            with self._changed:
                self.in_flight -= pixels
                self._changed.notify_all()


def _configured(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


DECODES = DecodeBudget(int(_configured("PATINA_DECODE_BUDGET_MP", 250) * 1_000_000),
                       wait=_configured("PATINA_DECODE_WAIT", 120.0))
"""The process's decode budget, used by ``read_image``."""

__all__ = ["DECODES", "SMALL", "DecodeBudget"]
