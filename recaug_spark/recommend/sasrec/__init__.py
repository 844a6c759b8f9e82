"""SASRec, the sequential recommender: sequences built in Spark, a torch model trained on the driver,
a tensors-only artifact, and scoring on the executors.

Pure modules (no pyspark): ``model`` (the network), ``train`` (losses, training loop, early stopping),
``artifact`` (weights + metadata). Spark modules: ``sequences`` (per-user item sequences, the item
index), ``score`` (distributed top-K).
"""
