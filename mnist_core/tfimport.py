"""Import TensorFlow and Keras without their C++ start-up chatter on stderr.

TensorFlow's C++ side prints oneDNN and CPU-feature notices before any Python
logging setting can apply. ``import_keras_quietly`` sends file descriptor 2 to a
temporary file during the import and replays it only if the import fails.
"""

from __future__ import annotations

import os
import sys
import tempfile


def import_keras_quietly():
    """Import tensorflow and keras (once); returns the keras module."""
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras
            import tensorflow

            # Device discovery prints its own notices (no CUDA driver...) on first use.
            tensorflow.config.list_physical_devices()
        except BaseException:
            os.dup2(saved_fd, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
    return keras
