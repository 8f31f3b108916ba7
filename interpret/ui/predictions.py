"""Top-k predictions in the app, computed once per (model, photo, k) for every session, in the background: a page
waits for them at most MODEL_ANSWER_SECONDS (ui/answers.py)."""
from __future__ import annotations

from ..images import InputImage
from ..models import LoadedModel
from ..predict import Prediction, top_k
from .answers import answer
from .caching import cache_data


@cache_data(max_entries=256, show_spinner=False)
def cached_top_k(lm: LoadedModel, image: InputImage, k: int = 5) -> tuple[Prediction, ...]:
    """The k most probable classes of one photo, most probable first (NotAnsweredError past the bound)."""
    return answer(lm, f"top-{k}|{image.sha256}", f"the top classes of {image.name}",
                  lambda: tuple(top_k(lm, lm.preprocessing.to_tensor(image.image), k)[0]))


def predicted_class(lm: LoadedModel, image: InputImage) -> int:
    """The index of the model's top class for the photo: the default target of every map."""
    return cached_top_k(lm, image, 5)[0].index  # the Predictions page's top 5: one pass for both
