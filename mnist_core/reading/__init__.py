"""Reading a digit: a drawing or a picture made into the 28x28 image MNIST models
expect (``preprocess``), and a model's reading of it (``inference``)."""
