"""Hostile classes cases through the API and the CLI."""
import pytest

from .corpus_classes import CASES
from .runner import params, run_case

pytestmark = pytest.mark.hostile


@pytest.mark.parametrize(("case", "entry"), params(CASES))
def test_classes(case, entry, env, tmp_path):
    run_case(case, entry, env, tmp_path)
