"""The pages' settings widgets, derived from the settings' declarations
(``mnist_core.settings``): label, help, bounds, choices and presets come from the
config dataclass, so a new setting shows on the page without an edit here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

from mnist_core.settings import Setting, declared


def setting_input(parent, spec: Setting, value: Any, key: str) -> Any:
    """Draw the widget for one setting in ``parent`` (a column or container),
    starting from ``value``; returns what the user chose."""
    help_text = spec.help[0].upper() + spec.help[1:] + "."
    if spec.type is bool:
        return parent.checkbox(spec.label, value=bool(value), help=help_text, key=key)
    if spec.many:
        return tuple(parent.multiselect(spec.label, spec.allowed(), default=list(value or ()), help=help_text,
                                        key=key))
    if spec.presets is not None:
        options = list(spec.presets)
        return parent.selectbox(spec.label, options, index=options.index(value) if value in options else 0,
                                format_func=spec.presets.get, help=help_text, key=key)
    allowed = spec.allowed()
    if allowed is not None:
        return parent.selectbox(spec.label, allowed, index=allowed.index(value) if value in allowed else 0,
                                help=help_text, key=key)
    if spec.slider:
        return parent.slider(spec.label, spec.minimum, spec.maximum, value, spec.step, help=help_text, key=key)
    if spec.type is int:
        return int(parent.number_input(
            spec.label, min_value=_whole(spec.minimum), max_value=_whole(spec.maximum), value=int(value), step=1,
            help=help_text, key=key))
    return float(parent.number_input(spec.label, value=float(value), step=spec.step, format=spec.number_format,
                                     help=help_text, key=key))


def _whole(bound: float | None) -> int | None:
    return None if bound is None else int(bound)


@dataclass
class SettingsForm:
    """What ``settings_inputs`` drew: the chosen values, and where a page's own
    widgets fit in after them (the next free cell of the grid, and the switch row)."""

    values: dict[str, Any]
    next_cell: Any
    next_switch: Any


def settings_inputs(config_class, values: dict[str, Any], key: Callable[[str], str], skip: tuple[str, ...] = (),
                    columns: int = 3) -> SettingsForm:
    """A widget for every declared setting of ``config_class`` but those in ``skip``,
    in declaration order: values in a grid of ``columns``, switches in a row below
    that wraps (each as wide as its label: in equal columns, long labels were cut off).

    ``values``: where each widget starts (a config's resolved values); ``key(name)``:
    each widget's key.
    """
    chosen = {}
    items = [(item, spec) for item, spec in declared(config_class) if item.name not in skip]
    value_items = [(item, spec) for item, spec in items if spec.type is not bool]
    switch_items = [(item, spec) for item, spec in items if spec.type is bool]
    grid = st.columns(columns)
    for index, (item, spec) in enumerate(value_items):
        chosen[item.name] = setting_input(grid[index % columns], spec, values.get(item.name), key(item.name))
    row = st.container(horizontal=True, gap="medium", key=key("switches"))
    for item, spec in switch_items:
        chosen[item.name] = setting_input(row, spec, values.get(item.name), key(item.name))
    return SettingsForm(chosen, grid[len(value_items) % columns], row)
