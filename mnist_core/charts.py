"""Plotly figure builders: data in, ``go.Figure`` out. No Streamlit here.

Each builder takes plain numbers (lists, arrays, dicts) so the app, notebooks and
tests can all use them.
"""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

ACCENT = "#ff4b4b"  # Streamlit's primary red: the predicted digit
MUTED = "#9aa5b1"


def probability_bars(probabilities: Sequence[float], height: int = 260) -> go.Figure:
    """Ten bars, one per digit, the most likely one highlighted; y in percent."""
    values = [100.0 * float(p) for p in probabilities]
    best = max(range(len(values)), key=values.__getitem__)
    figure = go.Figure(
        go.Bar(
            x=[str(d) for d in range(len(values))],
            y=values,
            marker_color=[ACCENT if d == best else MUTED for d in range(len(values))],
            text=[f"{v:.0f}%" if v >= 1 else "" for v in values],
            textposition="outside",
            hovertemplate="digit %{x}: %{y:.2f}%<extra></extra>",
        )
    )
    figure.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(title="digit", type="category"),
        yaxis=dict(title="probability (%)", range=[0, 112], fixedrange=True),
        showlegend=False,
    )
    return figure
