"""Hostile sets cases through the API and the CLI."""
import pytest

from .corpus_sets import CASES
from .runner import params, run_case

pytestmark = pytest.mark.hostile


@pytest.mark.parametrize(("case", "entry"), params(CASES))
def test_sets(case, entry, env, tmp_path):
    run_case(case, entry, env, tmp_path)
