"""Hostile model files through load_model and `predict --model/--weights`."""
import pytest

from .corpus_models import CASES
from .runner import params, run_case

pytestmark = pytest.mark.hostile


@pytest.mark.parametrize(("case", "entry"), params(CASES))
def test_model(case, entry, env, tmp_path):
    run_case(case, entry, env, tmp_path)
