"""The augmentation policy: which augmentation, if any, lifts which users of a model, decided on a
slice of the training period (stage policy; recaug_spark/stages/policy.py).

slices.py carves the policy-validation slice and its segments, candidates.py the candidates (each op
alone and the recipe, strengths, weights, targets, modes), halving.py the successive-halving schedule
of the step budget, sasrec.py trains and scores SASRec's candidates, decide.py applies the do-no-harm
rule to the evidence.
"""
