"""Looking inside any model: what it computes for one 28x28 image.

- ``activations``: every layer's output for the image, the learned filters and
  weight histograms;
- ``saliency``: where the model looked (Grad-CAM, integrated gradients, occlusion)
  and how much of that falls on the digit;
- ``embedding``: the image among the test digits (a 2-D map of the model's
  penultimate features) and its nearest training digits, cached beside the model;
- ``attack``: the smallest change that makes the model read another digit.

Plain functions, Keras models and numpy arrays in and out, no Streamlit. Images are
uint8 (28, 28) arrays as the reading pipeline makes them (ink high); maps come back
as float (28, 28) arrays over the same pixels.
"""
