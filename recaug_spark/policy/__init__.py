"""The augmentation policy: which augmentation, if any, lifts which users of a model, decided on a
slice of the training period.

candidates.py makes the candidates (each op alone and the recipe, strengths, weights, targets, modes),
halving.py the successive-halving schedule of the step budget, decide.py applies the do-no-harm rule
to their evidence.
"""
