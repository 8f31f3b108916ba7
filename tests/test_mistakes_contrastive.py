"""'Why A rather than B' attributes f_A - f_B: for a linear method it is the difference of the two maps."""
import numpy as np
import pytest

from interpret.mistakes import explain_mistake


@pytest.mark.parametrize("method", ["gradient", "grad_x_input"])
def test_contrastive_map_equals_the_difference_of_the_class_maps_for_linear_methods(bundled, method):
    from interpret.samples import load_sample

    x = bundled.preprocessing.to_tensor(load_sample("chelsea").image)
    tiger, tabby = bundled.find_class("tiger cat"), bundled.find_class("tabby")
    fractions = []
    result = explain_mistake(bundled, x, predicted=tiger, true=tabby, method=method, progress=fractions.append)
    assert (result.predicted.target, result.true.target) == (tiger, tabby)
    assert (result.contrast.target, result.contrast.contrast) == (tiger, tabby)
    difference = result.predicted.values - result.true.values
    scale = np.abs(difference).max()
    assert scale > 0 and result.contrast.status == "ok"
    assert np.allclose(result.contrast.values, difference, atol=1e-4 * scale)
    assert not np.allclose(result.contrast.values, result.predicted.values, atol=1e-2 * scale)
    assert fractions[-1] == pytest.approx(1.0) and fractions == sorted(fractions)
