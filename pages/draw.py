"""Draw a digit and see what the model reads."""

import streamlit as st

st.title("Draw a digit")
st.info("Coming soon: draw on a canvas and watch the model read it.")
