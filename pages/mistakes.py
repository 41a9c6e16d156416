"""Browse the test images the model gets wrong."""

import streamlit as st
from ui import require_entrypoint

require_entrypoint()

st.title("Mistakes")
st.info("Coming soon: the test images the model gets wrong, through its confusion matrix.")
