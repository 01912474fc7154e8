"""`patina models`: the registry and each model's card."""

from __future__ import annotations

from rich.console import Console
from rich.table import Column, Table


def list_models() -> None:
    """List the shipped models with their cards' key facts."""
    from patina.weights import REGISTRY, ModelCard

    table = Table("task", "arch", "params", "steps", "device", "present")
    table.columns.insert(0, Column("name", no_wrap=True))
    for entry in REGISTRY.values():
        card_file = entry.path.with_suffix(".json")
        if card_file.exists():
            card = ModelCard.read(card_file)
            table.add_row(entry.name, entry.task, card.arch, f"{card.parameters / 1e6:.2f}M", str(card.steps),
                          card.device, "yes" if entry.path.exists() else "card only")
        else:
            table.add_row(entry.name, entry.task, "-", "-", "-", "-", "no")
    Console().print(table)
