"""Streamlit helpers shared by app.py and the pages (the only UI code outside pages/).

Pages stay thin: they lay out widgets and call ``mnist_core``; what several pages
share (the model picker, cached model loading) lives here.
"""
