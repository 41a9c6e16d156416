"""Settings declared once: a config dataclass's fields carry their label, help,
bounds and choices, and everything else is derived from them.

A field is declared with ``setting``::

    epochs: int | None = setting(None, Setting("Epochs", "number of epochs", minimum=1, maximum=1000))

From that one declaration come:

- ``value_problems(config)``: the checks of each value (type, bounds, choices), as
  messages a user can act on; a config adds only the checks that tie fields together;
- ``add_arguments(parser, Config)`` and ``from_arguments(Config, namespace)``: the
  CLI's options, with their help;
- ``to_arguments(config)``: the CLI options that give the config back (the command
  recorded with a run and its model);
- the pages' widgets (``ui/settings.py``).

A field whose default is None means "the architecture's own default" (see each
config's ``resolved``); None is never checked against the bounds.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

SETTING = "setting"


@dataclass(frozen=True)
class Setting:
    """What the CLI, the pages and the checks need to know about one setting."""

    label: str  # the widget's label, e.g. "Batch size"
    help: str  # the CLI option's help and the widget's tooltip
    type: type = int  # int, float, str or bool (a bool is an on/off switch)
    noun: str | None = None  # how messages name it (default: the label in lower case)
    flag: str | None = None  # the CLI option (default: --field-name)
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None  # an exclusive lower bound: "a number above 0"
    # The allowed values, or a function that lists them (the registry, read when asked).
    choices: Sequence | Callable[[], Sequence] | None = None
    # The values a page offers in a select box, value -> label (None: the default).
    presets: Mapping[Any, str] | None = None
    many: bool = False  # a tuple of values; the CLI repeats the option
    step: float | None = None  # the widget's step
    slider: bool = False  # a page shows it as a slider (a bounded float)
    number_format: str | None = None  # the widget's printf format, e.g. "%.5f"
    none_means: str | None = None  # what a None default means, when not the config's usual meaning

    @property
    def name_in_messages(self) -> str:
        return self.noun or self.label.lower()

    def allowed(self) -> tuple | None:
        """The allowed values, or None when any value of the type will do."""
        if self.choices is None:
            return None
        return tuple(self.choices() if callable(self.choices) else self.choices)


def setting(default: Any, declaration: Setting, /) -> Any:
    """A dataclass field with its declaration (``default=MISSING``: a required setting)."""
    return field(default=default, metadata={SETTING: declaration})


def declared(config_class_or_instance) -> Iterator[tuple[Field, Setting]]:
    """The (field, declaration) of every declared setting, in declaration order."""
    for item in fields(config_class_or_instance):
        if SETTING in item.metadata:
            yield item, item.metadata[SETTING]


def declaration(config_class_or_instance, name: str) -> Setting:
    """The declaration of the setting ``name``."""
    for item, spec in declared(config_class_or_instance):
        if item.name == name:
            return spec
    raise KeyError(name)


# --- Checks -------------------------------------------------------------------------


def is_whole_number(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_number(value) -> bool:
    """A finite int or float (not a bool, not NaN or infinity)."""
    return is_whole_number(value) or (isinstance(value, (float, np.floating)) and math.isfinite(value))


def value_problem(spec: Setting, value) -> str | None:
    """What is wrong with ``value`` for the setting ``spec``, or None if it will do."""
    noun = spec.name_in_messages
    allowed = spec.allowed()
    if spec.many:
        if not isinstance(value, (tuple, list)):
            return f"{noun} must be a list, got {value!r}"
        unknown = [item for item in value if allowed is not None and item not in allowed]
        if unknown:
            return f"unknown {noun}(s) {', '.join(map(str, unknown))}; choose from: {', '.join(allowed)}"
        return None
    if spec.type is bool:
        return None if isinstance(value, bool) else f"{noun} must be true or false, got {value!r}"
    if allowed is not None:
        if value not in allowed:
            return f"unknown {noun} {value!r}; choose one of: {', '.join(map(str, allowed))}"
        return None
    if spec.type is int and not is_whole_number(value):
        return f"{noun} must be a whole number, got {value!r}"
    if spec.type is float and not is_number(value):
        return f"{noun} must be a number, got {value!r}"
    if spec.above is not None and not value > spec.above:
        return f"{noun} must be a number above {spec.above:g}, got {value!r}"
    if spec.type is float and spec.minimum is not None and spec.maximum is not None:
        if not spec.minimum <= value <= spec.maximum:
            return f"{noun} must be from {spec.minimum:g} to {spec.maximum:g}, got {value!r}"
        return None
    if spec.minimum is not None and value < spec.minimum:
        return f"{noun} must be at least {spec.minimum:g}, got {value!r}"
    if spec.maximum is not None and value > spec.maximum:
        return f"{noun} must be at most {spec.maximum:g}, got {value!r}"
    return None


def value_problems(config) -> dict[str, str]:
    """Each declared setting of ``config`` whose value is wrong, name -> message.

    A None where the default is None ("the architecture's") is fine here; a
    config checks its resolved self to check those too.
    """
    problems = {}
    for item, spec in declared(config):
        value = getattr(config, item.name)
        if value is None and item.default is None:
            continue
        problem = value_problem(spec, value)
        if problem:
            problems[item.name] = problem
    return problems


# --- The CLI --------------------------------------------------------------------------


def flag_of(item: Field, spec: Setting) -> str:
    return spec.flag or "--" + item.name.replace("_", "-")


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def add_arguments(parser: argparse.ArgumentParser, config_class, default_text: str = "") -> None:
    """Add an option for every declared setting of ``config_class`` to ``parser``.

    Only the conversion from text happens while parsing (and the choices, so a
    typo is told the list); the bounds are checked with the config, the one place
    they are checked. Options left out are left out of the namespace, so the
    dataclass's defaults apply. ``default_text`` says what a None default means.
    """
    for item, spec in declared(config_class):
        help_text = spec.help
        if item.default is None and (spec.none_means or default_text):
            help_text += f" (default: {spec.none_means or default_text})"
        elif item.default is not MISSING and spec.type is not bool:
            help_text += f" (default: {item.default})"
        options: dict[str, Any] = dict(dest=item.name, help=help_text, default=argparse.SUPPRESS)
        if item.default is MISSING:
            options["required"] = True
        allowed = spec.allowed()
        if spec.type is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif spec.many:
            options.update(action="append", choices=allowed, metavar="NAME")
            options["help"] += " (repeat for several)"
        elif allowed is not None:
            options["choices"] = allowed
            if len(allowed) > 4:
                options.update(metavar="NAME", help=f"{options['help']}: {', '.join(allowed)}")
        else:
            options["type"] = {int: _whole_number, float: _number}.get(spec.type, str)
        parser.add_argument(flag_of(item, spec), **options)


def from_arguments(config_class, namespace: argparse.Namespace):
    """The config the parsed options give (options left out take their defaults)."""
    values = {}
    for item, spec in declared(config_class):
        if hasattr(namespace, item.name):
            value = getattr(namespace, item.name)
            values[item.name] = tuple(value) if spec.many else value
    return config_class(**values)


def to_arguments(config) -> list[str]:
    """The CLI options that give ``config`` back: every setting away from its default."""
    arguments: list[str] = []
    for item, spec in declared(config):
        value = getattr(config, item.name)
        if item.default is not MISSING and value == item.default:
            continue
        flag = flag_of(item, spec)
        if spec.type is bool:
            arguments.append(flag if value else "--no-" + flag[2:])
        elif spec.many:
            for part in value:
                arguments += [flag, str(part)]
        else:
            arguments += [flag, str(value)]
    return arguments
