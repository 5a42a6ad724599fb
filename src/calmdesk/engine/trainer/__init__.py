"""Training and evaluation of the assess model (needs the `train` extra: scikit-learn).

Nothing here is imported when the engine runs; `calmdesk train` and `calmdesk evaluate`
load it on demand.
"""
