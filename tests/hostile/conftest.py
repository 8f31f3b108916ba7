"""Fixtures of the hostile suite: the shared model and input, loaded once per module in the parent process."""
from __future__ import annotations

import pytest

from .cases import Env


@pytest.fixture(scope="module")
def env() -> Env:
    from interpret.models import load_model
    from interpret.predict import top_k
    from interpret.samples import load_sample

    lm = load_model("bundled:efficientnet_lite0")
    x = lm.preprocessing.to_tensor(load_sample("coffee").image)
    return Env(lm=lm, x=x, index=top_k(lm, x, 1)[0][0].index)
