"""Compare architectures by k-fold cross-validation."""

import streamlit as st

st.title("Compare architectures")
st.info("Coming soon: k-fold cross-validation of several architectures, side by side.")
