"""The corpus itself: big enough, every category present, ids unique, each case runnable somewhere."""
import pytest

from .cases import ACCEPT, EITHER, REFUSE
from .corpus import ALL, CATEGORIES, counts

pytestmark = pytest.mark.hostile


def test_at_least_150_cases_across_every_category():
    assert len(ALL) >= 150, counts()
    assert all(n >= 20 for n in counts().values()), counts()


def test_ids_are_unique_and_name_their_category():
    ids = [case.id for case in ALL]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for name, cases in CATEGORIES.items():
        assert all(case.id.startswith(f"{name}/") and case.category == name for case in cases), name


def test_every_case_has_an_entry_point_and_an_expectation():
    for case in ALL:
        assert case.entries(), case.id
        assert case.expect in (REFUSE, ACCEPT, EITHER), case.id
        if case.expect == ACCEPT:
            assert case.check is not None or case.check_cli is not None or case.api is None, case.id


def test_the_cli_runs_a_subset_of_every_category():
    for name, cases in CATEGORIES.items():
        assert sum(case.cli is not None for case in cases) >= 5, name
