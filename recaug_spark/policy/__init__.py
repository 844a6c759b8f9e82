"""The augmentation policy: which augmentation, if any, lifts which users of a model, decided on a
slice of the training period.

slices.py carves the slice, candidates.py makes the candidates (each op alone and the recipe,
strengths, weights, targets, modes), halving.py the successive-halving schedule of the step budget and
its replication, search.py runs it over arms (sasrec.py's for SASRec), decide.py applies the do-no-harm
rule to the replication's evidence, run.py ties them together for stage policy, and ablation.py scores
each op alone for any model on the same slice (``policy.ablation``).
"""
