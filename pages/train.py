"""Train an architecture in the background with live curves."""

import streamlit as st

st.title("Train")
st.info("Coming soon: pick an architecture, train it and watch the curves live.")
