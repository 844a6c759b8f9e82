"""A conditional tabular GAN (CTGAN-style WGAN-GP): data transformer, networks, training and sampling."""
