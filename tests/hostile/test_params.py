"""Hostile parameter and CLI values through attribute() and the CLI commands."""
import pytest

from .corpus_params import CASES
from .runner import params, run_case

pytestmark = pytest.mark.hostile


@pytest.mark.parametrize(("case", "entry"), params(CASES))
def test_param(case, entry, env, tmp_path):
    run_case(case, entry, env, tmp_path)
