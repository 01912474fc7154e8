"""How many pixels this process decodes at once: large decodes wait for each other, so that a few huge images
arriving together (uploads, jobs, a batch) cannot together exhaust the memory.

A decode of ``n`` pixels takes ``n`` from the budget (``PATINA_DECODE_BUDGET_MP``, default 250 million pixels)
until it is done; small images (under :data:`SMALL`) never wait; an image larger than the whole budget runs
alone. Decoding a 196 MP RGB PNG (and checking it on import) takes the server to about 2.4 GiB at its peak,
so the default lets one such image, or many ordinary scans, decode at a time (`benchmarks/service_bombs.py`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SMALL = 16_000_000
"""Images of fewer pixels decode without asking the budget."""


class DecodeBudget:
    """A count of pixels in flight, waited on (see the module)."""

    def __init__(self, pixels: int) -> None:
        self.pixels = max(1, pixels)
        self.in_flight = 0
        self._changed = threading.Condition()

    @contextmanager
    def decoding(self, pixels: int) -> Iterator[None]:
        """Hold ``pixels`` of the budget for the block (waiting until they are free)."""
        if pixels < SMALL:
            yield
            return
        with self._changed:
            # an image larger than the budget waits for an empty budget, then runs alone
            self._changed.wait_for(lambda: self.in_flight == 0 or self.in_flight + pixels <= self.pixels)
            self.in_flight += pixels
        try:
            yield
        finally:
            with self._changed:
                self.in_flight -= pixels
                self._changed.notify_all()


def _configured() -> int:
    try:
        return int(float(os.environ.get("PATINA_DECODE_BUDGET_MP", "250")) * 1_000_000)
    except ValueError:
        return 250_000_000


DECODES = DecodeBudget(_configured())
"""The process's decode budget, used by ``read_image``."""

__all__ = ["DECODES", "SMALL", "DecodeBudget"]
