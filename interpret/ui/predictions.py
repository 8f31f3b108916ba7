"""Top-k predictions in the app, computed once per (model, photo, k) for every session."""
from __future__ import annotations

from ..images import InputImage
from ..models import LoadedModel
from ..predict import Prediction, top_k
from .caching import cache_data


@cache_data(max_entries=256, show_spinner=False)
def cached_top_k(lm: LoadedModel, image: InputImage, k: int = 5) -> tuple[Prediction, ...]:
    """The k most probable classes of one photo, most probable first."""
    return tuple(top_k(lm, lm.preprocessing.to_tensor(image.image), k)[0])


def predicted_class(lm: LoadedModel, image: InputImage) -> int:
    """The index of the model's top class for the photo: the default target of every map."""
    return cached_top_k(lm, image, 1)[0].index
