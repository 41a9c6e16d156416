"""Browse the test images the model gets wrong."""

import streamlit as st

st.title("Mistakes")
st.info("Coming soon: the test images the model gets wrong, through its confusion matrix.")
