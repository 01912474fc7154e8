"""Hard negatives for the damage-mask net: clean training photos on which it flags damage that is not there.

A mask net that takes a chain-link fence, a rushing stream, flowers among leaves or fishing rods for scratches
makes the generator inpaint them away. Mining finds such photos among the TRAINING files (never the held-out
ones): the share of each photo's pixels the net flags as it is, clean. A run then draws a share of its samples
from them (``data.hard_negatives``, ``data.p_hard_negative``): often shown untouched, with nothing to flag, and
as often with real damage drawn over the texture, so the net learns to tell them apart.

The list is a text file, one photo a line: its path relative to the data root it was found under, a tab, the
share flagged (``#`` starts a comment), so it travels with a config to another machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from patina.core.errors import ConfigError

MIN_FLAGGED = 0.01
"""A photo is a hard negative when the net flags more than this share of its clean pixels."""


def relative_name(path: Path, roots: Sequence[str | Path]) -> str:
    """``path`` relative to the first of ``roots`` it lies under (its name alone if none)."""
    for root in roots:
        try:
            return path.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            continue
    return path.name


def mine(files: Iterable[Path], flagged_share: Callable[[Path], float], *,
         min_flagged: float = MIN_FLAGGED) -> list[tuple[Path, float]]:
    """The ``files`` whose ``flagged_share`` (share of clean pixels the mask net flags) is above ``min_flagged``,
    most flagged first."""
    shares = [(path, flagged_share(path)) for path in files]
    return sorted(((path, share) for path, share in shares if share > min_flagged), key=lambda item: -item[1])


def write_list(path: Path, negatives: Sequence[tuple[Path, float]], roots: Sequence[str | Path], *,
               header: str) -> None:
    """Write mined hard negatives as a list file (module docstring), ``header`` as its leading comment."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"{relative_name(file, roots)}\t{share:.4f}" for file, share in negatives]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_list(path: str | Path, files: Sequence[Path], roots: Sequence[str | Path]) -> list[int]:
    """Indices into ``files`` (a run's training files) of the photos a list file names; names that are not
    among them (a held-out photo, another corpus) are skipped, but a list naming none of them is an error."""
    list_path = Path(path)
    if not list_path.is_file():
        raise ConfigError(f"hard-negative list {list_path} does not exist")
    names = [line.split("\t")[0].strip() for line in list_path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    index = {relative_name(file, roots): i for i, file in enumerate(files)}
    found = sorted({index[name] for name in names if name in index})
    if not found:
        raise ConfigError(f"hard-negative list {list_path} names none of the run's {len(files)} training photos")
    return found
