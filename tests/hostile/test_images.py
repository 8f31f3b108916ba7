"""Hostile images through load_image / load_image_file and `predict`."""
import pytest

from .corpus_images import CASES
from .runner import params, run_case

pytestmark = pytest.mark.hostile


@pytest.mark.parametrize(("case", "entry"), params(CASES))
def test_image(case, entry, env, tmp_path):
    run_case(case, entry, env, tmp_path)
