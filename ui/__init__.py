"""Streamlit helpers shared by app.py and the pages (the only UI code outside pages/).

Pages stay thin: they lay out widgets and call ``mnist_core``; what several pages
share (the model picker, cached model loading) lives here.
"""

import inspect
from pathlib import Path

import streamlit as st

# A table column of accuracies whose cells hold percents (``in_percent``): always two
# decimals, so that 99.70% does not show as "99.7%" beside 99.53% (the "percent" preset
# drops trailing zeros).
PERCENT_FORMAT = "%.2f%%"
PERCENT_COLUMN = st.column_config.NumberColumn(format=PERCENT_FORMAT)


def in_percent(fraction: float | None) -> float | None:
    """A fraction (0.997) as the percent a ``PERCENT_COLUMN`` cell holds (99.7); None stays None."""
    return None if fraction is None else 100 * fraction


# Set by app.py on every run of a session: the pages run inside its navigation.
ENTRY_KEY = "entered_through_app"
# The page a deep link asked for, carried through app.py by ``require_entrypoint``.
PAGE_PARAM = "page"


def mark_entrypoint() -> None:
    """Called by app.py on every run: this session's pages run inside its navigation."""
    st.session_state[ENTRY_KEY] = True


def require_entrypoint() -> None:
    """Make sure this page runs inside app.py's navigation, not on its own.

    With a folder named ``pages/`` beside the entry point, a fresh Streamlit server
    treats it as an old-style multipage app until some session has run
    ``st.navigation``: opening /train first (a bookmark, a tab reconnecting after a
    restart) runs pages/train.py alone, without the sidebar. Every page calls this
    first. A page that finds its session never ran app.py hands over to it with
    ``st.switch_page``, naming itself in the query (``?page=train``); app.py's
    ``st.navigation`` puts the server in the new mode, and ``follow_deep_link``
    switches to the page asked for.
    """
    if st.session_state.get(ENTRY_KEY):
        return
    caller = Path(inspect.stack()[1].filename).stem
    st.switch_page("app.py", query_params={PAGE_PARAM: caller})


def follow_deep_link(pages: list) -> None:
    """In app.py, after ``st.navigation``: switch to the page a deep link asked for
    (see ``require_entrypoint``), once."""
    asked = st.query_params.get(PAGE_PARAM)
    if not asked:
        return
    del st.query_params[PAGE_PARAM]
    for page in pages:
        if page.url_path == asked:
            st.switch_page(page)


def clicked_point(chart_state) -> list | None:
    """The ``customdata`` of the point clicked in a Plotly chart (its selection state,
    as ``st.plotly_chart`` returns it or session state holds it), as a list; None when
    nothing, or a point without data, is selected."""
    points = chart_state.get("selection", {}).get("points", []) if chart_state else []
    if not points or points[0].get("customdata") is None:
        return None
    data = points[0]["customdata"]
    if isinstance(data, dict):  # a row of customdata can arrive as {"0": ..., "1": ...}
        return [data[key] for key in sorted(data, key=int)]
    return list(data) if isinstance(data, (list, tuple)) else [data]


def chart_config(file_name: str, tools: bool = False) -> dict:
    """Plotly's config for a chart of the app: its own "Download plot as a PNG" button
    (at twice the size on screen, saved as ``file_name``.png), without the Plotly logo.
    ``tools=False`` keeps that button alone, for charts that are read rather than
    explored (probabilities, maps you click on); ``tools=True`` keeps zoom and pan
    too (training curves). Every ``st.plotly_chart`` in the app passes one of these."""
    config = {"displaylogo": False,
              "toImageButtonOptions": {"format": "png", "filename": file_name, "scale": 2}}
    if not tools:
        config["modeBarButtons"] = [["toImage"]]
    return config
