"""Channel statistics, orderings and gradient x activation: checked against closed forms."""
import numpy as np
import pytest
import torch

from interpret.features import (
    all_channel_stats,
    channel_mosaic,
    channel_order,
    channel_stats,
    grad_x_activation,
    histogram,
    layer_activations,
    page_count,
)


def test_gradient_x_activation_before_the_last_linear_layer_sums_to_the_class_score_minus_its_bias(resnet18, coffee):
    # logit_c = W[c] . a + b[c], so d logit_c / d a = W[c] and sum_units grad * a = logit_c - b[c]
    x = resnet18.preprocessing.to_tensor(coffee.image)
    acts, scores = grad_x_activation(resnet18, x, "avgpool", 281)
    fc = resnet18.model.fc
    assert scores.shape == (1, 512)
    np.testing.assert_allclose(scores[0], fc.weight[281].numpy() * acts.values[0], rtol=1e-5, atol=1e-6)
    assert scores.sum() == pytest.approx(float(acts.logits[0, 281] - fc.bias[281]), rel=1e-4, abs=1e-4)


def test_the_predicted_class_is_the_default_target(resnet18, coffee):
    x = resnet18.preprocessing.to_tensor(coffee.image)
    acts, default = grad_x_activation(resnet18, x, "layer3", None)
    _, explicit = grad_x_activation(resnet18, x, "layer3", int(acts.logits[0].argmax()))
    np.testing.assert_allclose(default, explicit, rtol=1e-6)


def test_grad_ranking_puts_the_channels_that_drive_the_class_first(resnet18, coffee):
    x = resnet18.preprocessing.to_tensor(coffee.image)
    acts, scores = grad_x_activation(resnet18, x, "layer4", 281)
    order = channel_order(acts.image(0), "grad", scores[0])
    assert np.all(np.diff(scores[0][order]) <= 0)
    # removing the top channels lowers the class score more than removing the bottom ones
    def score_without(channels):
        values = torch.from_numpy(acts.values.copy())
        values[0, channels] = 0
        with torch.inference_mode():
            return float(resnet18.model.fc(values.mean((2, 3)))[0, 281])
    assert score_without(order[:20]) < score_without(order[-20:])


def test_orders_by_index_mean_and_max():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(6, 5, 5)).astype(np.float32)
    assert list(channel_order(values, "index")) == list(range(6))
    by_mean = channel_order(values, "mean")
    assert list(values.mean((1, 2))[by_mean]) == sorted(values.mean((1, 2)), reverse=True)
    assert channel_order(values, "max")[0] == values.reshape(6, -1).max(1).argmax()
    with pytest.raises(ValueError):
        channel_order(values, "grad")


def test_statistics_of_a_relu_layer(resnet18, coffee):
    acts = layer_activations(resnet18, resnet18.preprocessing.to_tensor(coffee.image), "layer1.0.relu")
    values = acts.image(0)
    stats = channel_stats(values, 7)
    assert stats.mean == pytest.approx(float(values[7].mean()), rel=1e-5)
    assert stats.max == pytest.approx(float(values[7].max()))
    assert stats.zeros == pytest.approx(float((values[7] == 0).mean()))  # after a ReLU, <= 0 means exactly 0
    assert [s.channel for s in all_channel_stats(values)] == list(range(values.shape[0]))
    counts, edges = histogram(values, bins=30)
    assert counts.sum() == values.size and edges[0] == values.min() and edges[-1] == values.max()


def test_a_mosaic_is_paged_labelled_and_a_shared_scale_holds_across_pages():
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 1, size=(300, 8, 8)).astype(np.float32)
    values[299] *= 10  # one channel far brighter than the rest
    assert page_count(300) == 2
    order = np.arange(300)[::-1]
    first = channel_mosaic(values, order, 0, shared_scale=True, labels=False)
    second = channel_mosaic(values, order, 1, shared_scale=True, labels=False)
    assert first.shape[0] > second.shape[0]  # 256 tiles, then 44
    # channel 299 is the first tile of page 0; the dim channels of page 1 stay dark on the layer's scale
    per_channel = channel_mosaic(values, order, 1, shared_scale=False, labels=False)
    assert second.mean() < per_channel.mean()
    labelled = channel_mosaic(values, order, 0)
    assert not np.array_equal(labelled, channel_mosaic(values, order, 0, labels=False))
    with pytest.raises(ValueError):
        channel_mosaic(values, order, 2)
