"""Training: what to train and cross-validate (``config``, every setting declared
once), fitting one model (``fit``, with ``batch_norm``, ``callbacks``, ``augment``
and ``synthetic`` pen-drawn digits), and k-fold cross-validation (``crossval``)."""
