"""Batched evaluation of a labelled set on the bundled model: the demo set's real mistakes and the scores."""
import csv
import io

import numpy as np
import pytest

from interpret.mistakes import (
    accuracy,
    calibration,
    confusion,
    confusion_pairs,
    demo_set,
    evaluate,
    images_of_pair,
    least_sure,
    mistakes,
    open_zip,
    per_class,
    start,
    summary,
    to_csv,
)
from interpret.mistakes.evaluate import FAILED, PENDING
from interpret.predict import top_k
from interpret.progress import Cancelled
from test_mistakes_zip import CAT, COFFEE, make_zip


@pytest.fixture(scope="module")
def demo():
    return demo_set()


@pytest.fixture(scope="module")
def evaluation(bundled, demo):
    return evaluate(bundled, demo, batch_size=7)


def test_batched_predictions_equal_one_image_at_a_time(bundled, demo, evaluation):
    assert evaluation.complete and len(evaluation.ok) == len(demo.items)
    with demo.tree.reader() as read:
        for i in (0, len(demo.items) - 1):
            from interpret.images import decode_image

            x = bundled.preprocessing.to_tensor(decode_image(read(evaluation.paths[i])))
            single = top_k(bundled, x, 5)[0]
            assert [p.index for p in single] == evaluation.top_index[i].tolist()
            assert np.allclose([p.prob for p in single], evaluation.top_prob[i], atol=1e-4)


def test_the_demo_set_holds_a_real_confident_mistake(evaluation):
    wrong = mistakes(evaluation)
    assert len(wrong) >= 1
    assert 0 < accuracy(evaluation).top1 < 1
    probs = evaluation.top_prob[wrong, 0]
    assert np.all(np.diff(probs) <= 0)  # most confident first
    assert all(evaluation.top_index[i, 0] != evaluation.labels[i] for i in wrong)
    assert all(evaluation.true_prob[i] < evaluation.top_prob[i, 0] for i in wrong)


def test_scores_agree_with_each_other(evaluation):
    acc = accuracy(evaluation)
    right = evaluation.top_index[:, 0] == evaluation.labels
    assert acc.top1 == pytest.approx(right.mean())
    assert acc.top_k >= acc.top1
    rows = per_class(evaluation)
    assert sum(r["images"] for r in rows) == acc.count
    assert sum(r["correct"] for r in rows) == right.sum()
    matrix = confusion(evaluation)
    assert matrix.counts.sum() == acc.count
    assert np.trace(matrix.counts[:, :len(matrix.rows)]) == right.sum()
    for t, p, n in confusion_pairs(evaluation):
        assert len(images_of_pair(evaluation, t, p)) == n
        assert matrix.counts[matrix.rows.index(t), matrix.columns.index(p)] == n


def test_confusion_keeps_to_the_classes_present(evaluation):
    matrix = confusion(evaluation, max_columns=7)
    assert len(matrix.rows) == len(set(evaluation.labels.tolist())) == 6
    assert len(matrix.columns) == 7 and matrix.columns[-1] == -1  # the rest folded into "other"
    assert matrix.counts.sum() == len(evaluation.ok)


def test_calibration_bins_and_ece(evaluation):
    cal = calibration(evaluation, bins=10)
    conf = evaluation.top_prob[:, 0]
    right = evaluation.top_index[:, 0] == evaluation.labels
    assert cal.counts.sum() == len(conf)
    in_bins = ((conf > lo) & (conf <= hi) for lo, hi in zip(cal.edges[:-1], cal.edges[1:], strict=True))
    by_hand = sum(abs(right[m].mean() - conf[m].mean()) * m.sum() for m in in_bins if m.any()) / len(conf)
    assert cal.ece == pytest.approx(by_hand)
    unsure = least_sure(evaluation, 3)
    assert evaluation.top_prob[unsure, 0].max() <= np.sort(conf)[2] + 1e-7


def test_stopping_keeps_the_work_done_and_resuming_finishes_it(bundled):
    image_set = open_zip(make_zip({"espresso/a.png": COFFEE, "tabby/b.png": CAT, "tabby/c.png": CAT, "espresso/d.png": COFFEE}))
    whole = evaluate(bundled, image_set, batch_size=2)
    calls = []

    def stop_after_one_batch(fraction: float) -> None:
        calls.append(fraction)
        raise Cancelled()

    partial = evaluate(bundled, image_set, batch_size=1, progress=stop_after_one_batch)
    assert calls == [pytest.approx(1 / 4)]
    assert not partial.complete and partial.done == 1 and (partial.status == PENDING).sum() == 3
    assert accuracy(partial).count == 1
    resumed = evaluate(bundled, image_set, batch_size=1, resume=partial)
    assert resumed is partial and resumed.complete
    assert np.array_equal(resumed.top_index, whole.top_index)
    assert np.allclose(resumed.top_prob, whole.top_prob, atol=1e-5)


def test_undecodable_images_and_unknown_labels_are_reported(bundled):
    data = make_zip({"espresso/a.png": COFFEE, "espresso/broken.png": b"\x89PNG not really", "tabby/b.png": CAT,
                     "kitty/c.png": CAT})
    ev = evaluate(bundled, open_zip(data, "mixed.zip"))
    assert ev.paths == ["espresso/a.png", "espresso/broken.png", "tabby/b.png"]
    assert ev.status[1] == FAILED and "broken.png" in ev.errors["espresso/broken.png"]
    assert ev.match.unmatched == ("kitty",)
    assert accuracy(ev).count == 2
    report = summary(ev)
    assert report["unmatched_labels"] == ["'kitty' matches no class of this model: its 1 image left out."]
    rows = list(csv.DictReader(io.StringIO(to_csv(ev))))
    assert [r["path"] for r in rows] == ev.paths
    assert rows[1]["error"] and rows[0]["prediction"] == "espresso" and rows[0]["correct"] == "True"


def test_a_set_whose_labels_all_miss_is_refused(bundled):
    from interpret.errors import InterpretError

    with pytest.raises(InterpretError, match="No label"):
        start(bundled, open_zip(make_zip({"kitty/c.png": CAT})))


def _small_png(shade: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (shade, shade, shade)).save(buffer, "PNG")
    return buffer.getvalue()


def test_every_prefix_of_the_evaluation_order_holds_each_class_in_proportion():
    from interpret.mistakes.evaluate import stratified_order

    labels = np.repeat([0, 1, 2], [300, 200, 100])  # folder order: all of one class, then the next
    order = stratified_order(labels)
    assert sorted(order.tolist()) == list(range(600))
    for m in (6, 32, 100, 333):
        counts = np.bincount(labels[order[:m]], minlength=3)
        assert np.all(np.abs(counts - m * np.array([300, 200, 100]) / 600) <= 1), (m, counts)
    assert np.array_equal(order, stratified_order(labels))  # seeded: the same set, the same order
    assert not np.array_equal(order[:50], np.sort(order[:50]))  # shuffled within classes


def test_a_stopped_evaluation_covers_every_class_and_says_so(bundled):
    """The defect: stopped after 32 of 600 images in folder order, every image was of one class (93.8 % shown for a
    set at 25 %). Stopped after one batch now, the images done are a stratified sample of the three classes."""
    members = {f"{label}/{i:03d}.png": _small_png(i) for label in ("espresso", "tabby", "tiger cat") for i in range(20)}
    image_set = open_zip(make_zip(members), "sorted.zip")

    def stop_after_one_batch(fraction: float) -> None:
        raise Cancelled()

    partial = evaluate(bundled, image_set, batch_size=12, progress=stop_after_one_batch)
    done = partial.status != PENDING
    assert partial.done == 12
    assert np.unique(partial.labels[done], return_counts=True)[1].tolist() == [4, 4, 4]
    assert partial.describe_coverage() == ("12 of 60 images evaluated (20%), a class-stratified random sample: "
                                           "3 of 3 classes covered, each with about 20% of its images.")
    assert summary(partial)["coverage"] == partial.describe_coverage()
    resumed = evaluate(bundled, image_set, batch_size=12, resume=partial)
    assert resumed.complete and resumed.describe_coverage() == ""


def test_a_partial_evaluation_names_the_classes_it_has_not_reached(bundled):
    members = {f"{label}/{i:03d}.png": _small_png(i) for label, n in (("espresso", 30), ("tabby", 1)) for i in range(n)}

    def stop_after_one_batch(fraction: float) -> None:
        raise Cancelled()

    partial = evaluate(bundled, open_zip(make_zip(members)), batch_size=2, progress=stop_after_one_batch)
    assert partial.uncovered() == [partial.labels[-1]]  # the seeded order puts the one tabby image third
    assert partial.describe_coverage().endswith("1 of 2 classes covered, each with about 6% of its images; "
                                                "not reached yet: tabby.")
