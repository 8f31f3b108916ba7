"""Batched, stoppable, resumable inference over a labelled set, keeping only the top-k per image.

Images are evaluated in a seeded, class-stratified shuffled order (`stratified_order`), not in folder order:
a run stopped after any number of images covers every class in proportion to its share of the set, so the
partial scores estimate the whole set's (a stop after the first folders would score only their classes).

Images are decoded one batch ahead in a background thread (PIL releases the GIL while decoding and
resizing) so that decoding overlaps the forward pass; only the current and the next batch of pixels
exist at any time, so memory grows with the number of images by the stored predictions alone.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InterpretError
from ..images import decode_image
from ..models import LoadedModel
from ..progress import Cancelled, Progress, report
from .filetree import Reader
from .imageset import ImageSet
from .labels import LabelMatch, match_labels

PENDING, OK, FAILED = 0, 1, 2
ORDER_SEED = 0  # the evaluation order's seed: the same set is always evaluated in the same order


def stratified_order(labels: np.ndarray, seed: int = ORDER_SEED) -> np.ndarray:
    """The indices of `labels` in a shuffled order whose every prefix holds each class in proportion to its count.

    Each class's images are shuffled, the j-th of a class of n placed at (j + u) / n with u uniform in [0, 1)
    (seeded), and all are sorted by that place: the first m images hold about m x n / N of each class."""
    rng = np.random.default_rng(seed)
    place = np.empty(len(labels), np.float64)
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        place[members] = (np.arange(len(members)) + rng.random(len(members))) / len(members)
    return np.argsort(place, kind="stable")


@dataclass
class Evaluation:
    """Per image: true class, the k most probable classes with their probabilities, the true class's.

    Probabilities are the model's own (LoadedModel.activation): a softmax share, or for a sigmoid
    (multi-label) head each class's independent probability, so a row of them need not sum to 1."""

    set_name: str
    fingerprint: str
    class_names: tuple[str, ...] = field(repr=False)
    paths: list[str] = field(repr=False)
    labels: np.ndarray = field(repr=False)  # (N,) int64 true class
    top_index: np.ndarray = field(repr=False)  # (N, k) int64
    top_prob: np.ndarray = field(repr=False)  # (N, k) float32
    true_prob: np.ndarray = field(repr=False)  # (N,) float32
    status: np.ndarray = field(repr=False)  # (N,) int8: PENDING, OK or FAILED
    match: LabelMatch
    skipped: dict[str, list[str]]
    errors: dict[str, str] = field(default_factory=dict)  # path -> why it could not be decoded
    user_labels: list[str] = field(default_factory=list, repr=False)  # the label as written, per image
    seconds: float = 0.0
    order: np.ndarray | None = field(default=None, repr=False)  # the order images are evaluated in (stratified_order)

    @property
    def total(self) -> int:
        return len(self.paths)

    @property
    def done(self) -> int:
        return int((self.status != PENDING).sum())

    @property
    def complete(self) -> bool:
        return self.done == self.total

    @property
    def ok(self) -> np.ndarray:
        """Indices of the images that were evaluated successfully."""
        return np.flatnonzero(self.status == OK)

    def label(self, index: int) -> str:
        return self.class_names[index]

    def uncovered(self) -> list[int]:
        """The classes of the set none of whose images has been evaluated yet (empty once each class has one)."""
        return sorted(set(np.unique(self.labels).tolist()) - set(np.unique(self.labels[self.status != PENDING]).tolist()))

    def describe_coverage(self) -> str:
        """What a partial evaluation covers ('' when complete): how many images and classes, that they are a
        class-stratified sample of the set, and the classes not reached yet (a few named)."""
        if self.complete:
            return ""
        classes, missing = len(np.unique(self.labels)), self.uncovered()
        share = self.done / self.total if self.total else 0.0
        text = (f"{self.done} of {self.total} images evaluated ({share:.0%}), a class-stratified random sample: "
                f"{classes - len(missing)} of {classes} classes covered, each with about {share:.0%} of its images")
        if missing:
            names = ", ".join(self.label(c) for c in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            text += f"; not reached yet: {names}"
        return text + "."


def _decode_batch(read: Reader, paths: list[str], lm: LoadedModel) -> tuple[np.ndarray, list[bool], dict[str, str]]:
    pixels, fine, errors = [], [], {}
    for path in paths:
        try:
            pixels.append(lm.preprocessing.model_view(decode_image(read(path), path)))
            fine.append(True)
        except InterpretError as exc:
            errors[path] = str(exc)
            fine.append(False)
    return (np.stack(pixels) if pixels else np.zeros((0, 0, 0, 3), np.uint8)), fine, errors


def _forward(lm: LoadedModel, pixels: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with torch.inference_mode():
        logits = lm.model(lm.input_tensor(lm.preprocessing.normalize(pixels)))
        probs = lm.probabilities(logits)
        top_prob, top_index = probs.topk(k, dim=1)
        true = probs.gather(1, torch.as_tensor(labels, device=probs.device).view(-1, 1))[:, 0]
    return top_index.cpu().numpy(), top_prob.cpu().numpy(), true.cpu().numpy()


def start(lm: LoadedModel, image_set: ImageSet, k: int = 5, chosen: dict[str, int] | None = None) -> Evaluation:
    """An empty evaluation: labels matched (`chosen`: classes the user picked for labels that match none, or
    several), nothing computed yet.

    A model of one output (a binary sigmoid head) is refused: its one class is every image's top-1
    prediction, so accuracy, confusion and mistakes would all be meaningless."""
    if lm.num_classes < 2:
        raise InterpretError(f"Accuracy and mistakes need a model of at least 2 classes; '{lm.spec}' has one output "
                             f"('{lm.label(0)}', a binary head), so it would predict '{lm.label(0)}' for every "
                             "image. Its probability for each image is in its predictions.")
    match = match_labels((item.label for item in image_set.items), lm.class_names, chosen)
    items = [item for item in image_set.items if item.label in match.indices]
    if not items:
        problems = " ".join(match.describe_problems(lm.class_names)[:3])
        raise InterpretError(f"No label of '{image_set.name}' matches a class of this model. {problems}")
    n, k = len(items), max(1, min(k, lm.num_classes))
    return Evaluation(
        set_name=image_set.name, fingerprint=image_set.fingerprint, class_names=lm.class_names,
        paths=[item.path for item in items], labels=np.array([match.indices[item.label] for item in items], np.int64),
        top_index=np.full((n, k), -1, np.int64), top_prob=np.zeros((n, k), np.float32), true_prob=np.zeros(n, np.float32),
        status=np.zeros(n, np.int8), match=match, skipped=image_set.skipped, user_labels=[item.label for item in items],
        order=stratified_order(np.array([match.indices[item.label] for item in items], np.int64)),
    )


def evaluate(lm: LoadedModel, image_set: ImageSet, batch_size: int = 32, k: int = 5,
             progress: Progress | None = None, resume: Evaluation | None = None,
             chosen: dict[str, int] | None = None) -> Evaluation:
    """Predict every labelled image in batches on the model's device.

    `progress(fraction)` is called after each batch; raising `interpret.progress.Cancelled` from it
    stops the run there and returns the partial evaluation (`complete` is False; pass it back as
    `resume` to go on where it stopped). A `resume` is filled in place, so what finished before any
    other exception is kept in it too.
    """
    ev = resume if resume is not None else start(lm, image_set, k, chosen)
    order = ev.order if ev.order is not None else stratified_order(ev.labels)
    pending = order[ev.status[order] == PENDING]
    batches = [pending[i:i + batch_size] for i in range(0, len(pending), batch_size)]
    began = time.perf_counter()
    with image_set.tree.reader() as read, ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode") as pool:
        decode = lambda rows: pool.submit(_decode_batch, read, [ev.paths[i] for i in rows], lm)  # noqa: E731
        upcoming = decode(batches[0]) if batches else None
        for b, rows in enumerate(batches):
            assert upcoming is not None  # each batch is submitted one batch ahead
            pixels, fine, errors = upcoming.result()
            upcoming = decode(batches[b + 1]) if b + 1 < len(batches) else None
            good = rows[np.array(fine, bool)]
            if len(good):
                top_index, top_prob, true = _forward(lm, pixels, ev.labels[good], ev.top_index.shape[1])
                ev.top_index[good], ev.top_prob[good], ev.true_prob[good] = top_index, top_prob, true
                ev.status[good] = OK
            ev.status[rows[~np.array(fine, bool)]] = FAILED
            ev.errors.update(errors)
            ev.seconds += time.perf_counter() - began
            began = time.perf_counter()
            try:
                report(progress, ev.done / ev.total)
            except Cancelled:
                if upcoming is not None:
                    upcoming.cancel()
                break
    return ev
