"""MNIST Studio's core: data, architectures, training, saved models, jobs and charts.

Nothing here imports Streamlit, and TensorFlow/Keras are imported only inside the
functions that need them, so ``import mnist_core`` and ``python -m mnist_core --help``
stay fast.
"""

__version__ = "0.1.0"
