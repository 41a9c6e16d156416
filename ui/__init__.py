"""Streamlit helpers shared by app.py and the pages (the only UI code outside pages/).

Pages stay thin: they lay out widgets and call ``mnist_core``; what several pages
share (the model picker, cached model loading) lives here.
"""

import streamlit as st


def require_entrypoint() -> None:
    """Make sure this page runs inside app.py's navigation, not on its own.

    With a folder named ``pages/`` beside the entry point, a fresh Streamlit server
    treats it as an old-style multipage app until some session has run
    ``st.navigation``: opening /train first (a bookmark, a tab reconnecting after a
    restart) runs pages/train.py alone, without the sidebar. Every page calls this
    first; it switches the server to app.py's navigation and reruns. (Streamlit's
    AppTest runs pages that way on purpose, on every rerun: left alone there.)
    """
    try:
        from streamlit import config
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without these internals: nothing to fix
        return
    if config.get_option("global.appTest"):
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
