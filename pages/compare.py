"""Compare architectures by k-fold cross-validation."""

import streamlit as st
from ui import require_entrypoint

require_entrypoint()

st.title("Compare architectures")
st.info("Coming soon: k-fold cross-validation of several architectures, side by side.")
