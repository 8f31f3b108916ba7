"""Feature visualisation: the channel's activation grows, the shared model is untouched, a stop is clean."""
import threading

import numpy as np
import pytest
import torch

from interpret.errors import LayerError, ParameterError
from interpret.features import visualize_channel
from interpret.features.parameterization import ImageParam
from interpret.features.transforms import robust_transform
from interpret.limits import MAX_PASSES
from interpret.models.private import private_copy
from interpret.progress import Cancelled
from test_shared_model import untouched


def lock_is_free(lock) -> bool:
    """Whether another thread can take `lock` (an RLock held by this one would still let this one in)."""
    taken = []

    def probe():
        if lock.acquire(timeout=1):
            lock.release()
            taken.append(True)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return bool(taken)


def test_optimising_raises_the_channel_activation_on_the_real_model_and_leaves_it_untouched(bundled):
    before = {k: v.clone() for k, v in bundled.model.state_dict().items()}
    fractions = []
    result = visualize_channel(bundled, "blocks.2", 5, steps=12, progress=fractions.append)
    assert result.image.shape == (224, 224, 3) and result.image.dtype == np.uint8
    assert result.image.std() > 5  # not a flat grey
    assert np.mean(result.objective[-3:]) > result.objective[0] + 0.5
    assert fractions[-1] == 1.0 and len(fractions) == 12
    assert untouched(bundled)
    assert all(torch.equal(before[k], v) for k, v in bundled.model.state_dict().items())


def test_results_are_deterministic_for_a_seed_and_stopping_leaves_nothing_behind(resnet18):
    copy = private_copy(resnet18)
    kwargs = dict(steps=3, parameterization="pixel", private=copy)
    a = visualize_channel(resnet18, "layer1.0", 3, **kwargs)
    b = visualize_channel(resnet18, "layer1.0", 3, **kwargs)
    np.testing.assert_array_equal(a.image, b.image)

    seen = []

    def stop(fraction):
        seen.append(fraction)
        if len(seen) == 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        visualize_channel(resnet18, "layer1.0", 3, steps=50, private=copy, progress=stop)
    assert seen == [1 / 50, 2 / 50]
    assert not any(m._forward_hooks for m in copy.model.modules())
    assert lock_is_free(copy.lock)
    assert untouched(resnet18)


def test_a_channel_that_does_not_exist_is_a_clear_error(resnet18):
    with pytest.raises(LayerError, match="Channel 64 does not exist"):
        visualize_channel(resnet18, "layer1", 64, steps=1)
    assert untouched(resnet18)


def test_the_fourier_parameterisation_starts_smoother_than_pixels():
    def roughness(image):  # mean absolute difference of neighbouring pixels
        return float((image[..., 1:] - image[..., :-1]).abs().mean())

    with torch.no_grad():
        fourier, pixel = ImageParam(64, "fourier")(), ImageParam(64, "pixel")()
    assert fourier.shape == pixel.shape == (1, 3, 64, 64)
    assert 0 <= float(fourier.min()) and float(fourier.max()) <= 1
    assert roughness(fourier) < roughness(pixel)


def test_robustness_transforms_move_the_image_and_keep_its_size():
    image = torch.rand(1, 3, 64, 64)
    generator = torch.Generator().manual_seed(0)
    moved = robust_transform(image, 64, generator)
    assert moved.shape == image.shape
    assert not torch.allclose(moved, image)


def test_a_reused_relu_is_optimised_at_its_last_output_like_the_feature_map_shows_it(resnet18):
    # layer1.0.relu runs twice per pass; its feature map is the block's output, and so is what is optimised
    relu = visualize_channel(resnet18, "layer1.0.relu", 7, steps=2, parameterization="pixel")
    block = visualize_channel(resnet18, "layer1.0", 7, steps=2, parameterization="pixel")
    assert block.objective[1] > block.objective[0] > 0.05  # a live channel (random weights leave some at 0)
    np.testing.assert_allclose(relu.objective, block.objective, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(relu.image, block.image)


def test_a_step_count_beyond_the_pass_limit_is_refused_before_any_work(resnet18):
    with pytest.raises(ParameterError, match="MAX_PASSES"):
        visualize_channel(resnet18, "layer1", 0, steps=MAX_PASSES + 1)
