"""Typed, validated options: the one place a pipeline's defaults, types, ranges and choices are written.

A pipeline declares a frozen dataclass of :func:`option` fields (a subclass of :class:`Options`)::

    @dataclass(frozen=True)
    class RestoreOptions(Options):
        strength: float = option(1.0, "0 keeps the photo, 1 the full restoration", minimum=0, maximum=1)

Building one checks every value (:func:`check_value`) and raises :class:`OptionError`, a ParameterError that
names the option, the value and what is allowed. The command line, the archive's recipes, the REST API's
schema and the web UI's forms are all derived from these declarations (:func:`option_specs`).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from patina.core.errors import ParameterError

AUTO = "auto"
"""The value of an option whose setting is chosen at run time (and recorded once chosen)."""

OptionsT = TypeVar("OptionsT", bound="Options")


class OptionError(ParameterError):
    """A bad option value: ``option`` names it; the message names it too, with the value and what is allowed."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        self.reason = message
        super().__init__(message)


@dataclass(frozen=True)
class OptionSpec:
    """What an option accepts beyond its type, and how people are told about it."""

    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    auto: bool = False
    """Accepts :data:`AUTO` (chosen at run time)."""
    reference: bool = False
    """The values name further input images (archive items by id or sha256; files on the command line)."""
    max_items: int | None = None
    """For a list option: at most this many items."""
    required: bool = False
    """For a reference option: at least one item must be named (the images cannot be given otherwise)."""
    cli_name: str = ""
    """The command-line flag's name, when not the option's name with '-' for '_'."""
    cli_short: str = ""
    """A short command-line flag, e.g. '-s'."""
    weights: bool = False
    """The value may name a model: a registry name or a weights file (the service limits where such files lie)."""


def option(default: Any, help: str, *, minimum: float | None = None, maximum: float | None = None,
           choices: tuple[Any, ...] = (), auto: bool = False, reference: bool = False,
           max_items: int | None = None, required: bool = False, cli_name: str = "", cli_short: str = "",
           weights: bool = False) -> Any:
    """A dataclass field holding an option: its default and its :class:`OptionSpec`."""
    spec = OptionSpec(help=help, minimum=minimum, maximum=maximum, choices=tuple(choices), auto=auto,
                      reference=reference, max_items=max_items, required=required, cli_name=cli_name,
                      cli_short=cli_short, weights=weights)
    return dataclasses.field(default=default, metadata={"option": spec})


@dataclass(frozen=True)
class OptionInfo:
    """One option as the outside world sees it: name, type hint, default and spec."""

    name: str
    hint: Any
    default: Any
    spec: OptionSpec

    @property
    def kind(self) -> str:
        """'boolean', 'integer', 'number', 'text', 'integers', 'numbers', 'texts' or 'references'."""
        return kind_of(self.hint, self.spec)

    @property
    def optional(self) -> bool:
        """Whether None (not set) is allowed."""
        return type(None) in typing.get_args(self.hint)

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (the REST API's pipeline schema, the web UI's forms)."""
        spec = self.spec
        return {"name": self.name, "type": self.kind, "default": _plain(self.default), "help": spec.help,
                "minimum": spec.minimum, "maximum": spec.maximum, "choices": list(spec.choices),
                "auto": spec.auto, "optional": self.optional, "reference": spec.reference,
                "max_items": spec.max_items, "required": spec.required}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _base_types(hint: Any) -> tuple[Any, ...]:
    """The non-None members of a type hint (``int | str | None`` -> (int, str))."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return tuple(arg for arg in typing.get_args(hint) if arg is not type(None))
    return (hint,)


def _item_type(hint: Any) -> Any | None:
    """The item type of a ``tuple[X, ...]`` member of ``hint``, or None."""
    for base in _base_types(hint):
        if typing.get_origin(base) is tuple:
            return typing.get_args(base)[0]
    return None


def kind_of(hint: Any, spec: OptionSpec) -> str:
    """A JSON-schema-like name of the values an option takes."""
    if spec.reference:
        return "references"
    item = _item_type(hint)
    if item is not None:
        return {int: "integers", float: "numbers"}.get(item, "texts")
    bases = _base_types(hint)
    for base, name in ((bool, "boolean"), (float, "number"), (int, "integer")):
        if base in bases:
            return name
    return "text"


def _describe_allowed(spec: OptionSpec, noun: str) -> str:
    """What an option takes, e.g. 'a number between 0 and 1' (``noun`` '' for the range alone)."""
    if spec.choices:
        return "one of " + ", ".join(map(str, spec.choices))
    if spec.minimum is not None and spec.maximum is not None:
        allowed = f"between {spec.minimum:g} and {spec.maximum:g}"
    elif spec.minimum is not None:
        allowed = f"at least {spec.minimum:g}"
    elif spec.maximum is not None:
        allowed = f"at most {spec.maximum:g}"
    else:
        return noun
    if not noun or allowed.startswith("between"):
        return f"{noun} {allowed}".strip()
    return f"{noun} of {allowed}"


def check_value(name: str, value: Any, hint: Any, spec: OptionSpec) -> Any:
    """``value`` checked against the option's type hint and spec, normalised (whole-number text to int, int to
    float for a number, lists to tuples); raises :class:`OptionError` naming the option, the value and what is
    allowed."""
    bases = _base_types(hint)
    if value is None:
        if type(None) in typing.get_args(hint):
            return None
        raise OptionError(name, f"{name} must be set, got {value!r}")
    if isinstance(value, str) and spec.auto and value.strip().lower() == AUTO:
        return AUTO
    item = _item_type(hint)
    if item is not None and isinstance(value, str) and (spec.reference or item is str):
        value = [value]  # one archive item, or one text, given alone
    if item is not None and not isinstance(value, str):
        return _check_items(name, value, item, spec)
    if bool in bases:
        if not isinstance(value, bool):
            raise OptionError(name, f"{name} must be true or false, got {value!r}")
        return value
    number = _as_number(value, bases)
    if spec.choices and (value if number is None else number) not in spec.choices:
        allowed = ", ".join(map(str, spec.choices)) + (", auto" if spec.auto else "")
        raise OptionError(name, f"unknown {name} {value!r}: {name} must be one of {allowed}")
    if number is not None:
        return _check_range(name, number, spec, "a whole number" if isinstance(number, int) else "a number")
    if str in bases and isinstance(value, str) and not spec.auto:
        return value
    expected = _describe_allowed(spec, "a whole number" if int in bases else "a number" if float in bases else "text")
    raise OptionError(name, f"{name} must be {expected}{' or auto' if spec.auto else ''}, got {value!r}")


def _as_number(value: Any, bases: tuple[Any, ...]) -> int | float | None:
    """``value`` as the option's number type, or None when it is not one (bools are never numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):  # from a command line or a form field
        text = value.strip()
        if int in bases and text.lstrip("-").isdigit():
            return int(text)
        if float in bases:
            try:
                return float(text)
            except ValueError:
                return None
        return None
    if int in bases and isinstance(value, int):
        return value
    if float in bases and isinstance(value, (int, float)):
        return float(value)
    return None


def _check_range(name: str, number: int | float, spec: OptionSpec, noun: str) -> int | float:
    if isinstance(number, float) and not math.isfinite(number):
        raise OptionError(name, f"{name} must be {_describe_allowed(spec, noun)}, got {number!r}")
    low, high = spec.minimum, spec.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        raise OptionError(name, f"{name} must be {_describe_allowed(spec, '')}, got {number!r}")
    return number


def _check_items(name: str, value: Any, item: Any, spec: OptionSpec) -> tuple[Any, ...]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]  # one item given alone
    if not isinstance(value, (list, tuple)):
        if spec.reference:
            raise OptionError(name, f"{name} must name archive items (ids or sha256), one or a list; got {value!r}")
        raise OptionError(name, f"{name} must be a list, got {value!r}")
    if spec.max_items is not None and len(value) > spec.max_items:
        raise OptionError(name, f"{name} takes at most {spec.max_items} item(s), got {len(value)}")
    if spec.reference:
        bad = [entry for entry in value if isinstance(entry, bool) or not isinstance(entry, (int, str))]
        if bad:
            raise OptionError(name, f"{name} must list archive items (ids or sha256), got {bad[0]!r}")
        return tuple(value)
    return tuple(check_value(name, entry, item, dataclasses.replace(spec, max_items=None)) for entry in value)


@dataclass(frozen=True)
class Options:
    """Base of a pipeline's options: checked when built; :meth:`from_mapping` for outside values."""

    pipeline: ClassVar[str] = ""
    """The pipeline's name, used in error messages."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for info in option_specs(type(self)):
            value = check_value(info.name, getattr(self, info.name), hints[info.name], info.spec)
            object.__setattr__(self, info.name, value)
        self.check()

    def check(self) -> None:
        """Checks that involve several options (raise :class:`OptionError`); none by default."""

    @classmethod
    def from_mapping(cls: type[OptionsT], given: Mapping[str, Any] | None = None) -> OptionsT:
        """Options from names and values (JSON, form fields); unknown names are an error."""
        given = dict(given or {})
        names = [info.name for info in option_specs(cls)]
        unknown = sorted(set(given) - set(names))
        if unknown:
            where = f"{cls.pipeline} has" if cls.pipeline else "there is"
            raise ParameterError(f"{where} no parameter {', '.join(unknown)}; it has: {', '.join(sorted(names))}")
        return cls(**given)

    @classmethod
    def check_one(cls, name: str, value: Any) -> Any:
        """``value`` checked (and normalised) as the option ``name``."""
        info = next(info for info in option_specs(cls) if info.name == name)
        return check_value(name, value, info.hint, info.spec)

    def as_dict(self) -> dict[str, Any]:
        """The options as JSON values (tuples as lists)."""
        return {info.name: _plain(getattr(self, info.name)) for info in option_specs(type(self))}


def option_specs(cls: type[Options]) -> list[OptionInfo]:
    """The options of an options class, in declaration order."""
    hints = typing.get_type_hints(cls)
    infos = []
    for field in dataclasses.fields(cls):
        spec = field.metadata.get("option")
        if spec is None:
            raise TypeError(f"{cls.__name__}.{field.name} is not declared with option()")
        infos.append(OptionInfo(name=field.name, hint=hints[field.name], default=field.default, spec=spec))
    return infos


__all__ = ["AUTO", "OptionError", "OptionInfo", "OptionSpec", "Options", "check_value", "kind_of", "option",
           "option_specs"]
