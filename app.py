"""MNIST Studio: ``streamlit run app.py``.

The entry point: page config, navigation over pages/, and the shared sidebar.
Nothing heavy is imported here, so the first paint is immediate.
"""

import streamlit as st

from ui.models import model_picker, start_importing_tensorflow

st.set_page_config(page_title="MNIST Studio", page_icon=":material/draw:", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/draw.py", title="Draw", icon=":material/draw:", default=True),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
        st.Page("pages/mistakes.py", title="Mistakes", icon=":material/error_med:"),
    ]
)
start_importing_tensorflow()
model_picker()
navigation.run()
