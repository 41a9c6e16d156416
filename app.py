"""MNIST Studio: ``streamlit run app.py``.

The entry point: page config, navigation over pages/, and the shared sidebar.
Nothing heavy is imported here, so the first paint is immediate.
"""

from pathlib import Path

import streamlit as st

from ui import follow_deep_link, mark_entrypoint
from ui.models import model_picker, start_importing_tensorflow

# A local favicon: a material-icon one is fetched from Google's font servers, which
# the app must never depend on (it is blocked offline and logs an error on every load).
st.set_page_config(page_title="MNIST Studio", page_icon=str(Path(__file__).parent / "ui" / "favicon.png"),
                   layout="wide")

PAGES = [
    st.Page("pages/draw.py", title="Draw", icon=":material/draw:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/mistakes.py", title="Mistakes", icon=":material/error_med:"),
    st.Page("pages/models.py", title="Models", icon=":material/inventory_2:"),
]
navigation = st.navigation(PAGES)
mark_entrypoint()
follow_deep_link(PAGES)
start_importing_tensorflow()
model_picker()
navigation.run()
