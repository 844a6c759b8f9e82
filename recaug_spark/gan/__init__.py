"""A conditional tabular GAN (CTGAN-style WGAN-GP): data transformer, networks, training and sampling.

Pure modules (no pyspark): ``mixture`` (a continuous column's Gaussian mixture), ``columns`` (one fitted
column and its encoding), ``transform`` (the frame <-> matrix layout), ``codec`` (the parameters' JSON),
``checks``, ``model`` (the networks), ``sample`` (conditions and sampling), ``train`` (the training loop),
``artifact`` (weights + metadata) and ``generate`` (one seeded batch of synthetic events). Spark modules:
``table`` (the training table), ``store`` (artifacts in the lake), ``spark`` (batches on the executors)
and the stages' work: ``inputs``, ``fit``, ``versions``, ``plan``, ``synthetic``, ``report``.
"""
