"""Models: the architectures one can train (``architectures``), the saved models
and their states (``store``), and how well a model reads the test set (``evaluation``)."""
