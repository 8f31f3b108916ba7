"""A loaded model under another preprocessing, without loading its weights again.

Editing a model file's preprocessing in the app used to load the model a second time: a second copy of its
weights in memory and the load's whole wait again. The network is read-only once loaded, so a model with other
preprocessing can share it, and must share its lock too (hooks on the one network stay exclusive).
"""
from __future__ import annotations

import dataclasses

from ..errors import ModelLoadError
from ..preprocess import Preprocessing
from .first_pass import checked_pass
from .keys import canonical_key
from .loaded import LoadedModel
from .sources.base import preprocessing_id


def with_preprocessing(lm: LoadedModel, preprocessing: Preprocessing) -> LoadedModel:
    """`lm` with `preprocessing`, its network and lock shared; one first pass at the new input size checks that
    the network takes it and still gives one score per class (a new key: results with it are its own)."""
    if preprocessing == lm.preprocessing:
        return lm
    with lm.lock:  # no other session's hooks on the network during the check
        _, classes, _ = checked_pass(lm.model, preprocessing, lm.device, lm.spec, lm.kind)
    if classes != lm.num_classes:
        raise ModelLoadError(f"'{lm.spec}' gives {classes} scores at a {preprocessing.crop_size}-pixel input, not its "
                             f"{lm.num_classes} classes: choose the input size it was built for.")
    key = canonical_key("preprocessed", lm.key, preprocessing_id(preprocessing))
    return dataclasses.replace(lm, preprocessing=preprocessing, key=key, lock=lm.lock)
