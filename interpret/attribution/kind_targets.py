"""Targets for the models that are not classifiers (interpret/models/kinds.py): one scalar per image of what they
return, so that every method that calls `ctx.score(model output)` (the gradient family, the gradient CAMs) explains
them unchanged.

- segmentation: a class's scores summed over a region (its predicted mask, a box, or the whole image), as
  pytorch-grad-cam's `SemanticSegmentationTarget`;
- detection: one detection, found again among the boxes of each pass (the box of highest IoU with it, of the same
  label, above an IoU threshold): its class score, plus that IoU where `add_iou` (pytorch-grad-cam's
  `FasterRCNNBoxScoreTarget`, which adds the two), 0 where it is not found;
- embedding: the cosine similarity to a reference embedding ("why are these two images similar");
- regression: an output's value, minus a baseline value.

The region, the box and the reference are fixed when the target is made, from the clean image's pass (the
functions below): a perturbed input is scored against the same region and box, never its own. Each target is a
frozen, hashable value (a mask is held as packed bits), as the batched scoring groups rows by target.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import box_iou

from ..errors import InterpretError
from ..limits import MAX_DETECTIONS
from ..models import LoadedModel
from ..models.kinds import a_model
from .target import Target

Box = tuple[float, float, float, float]  # x0, y0, x1, y1


class TargetError(InterpretError):
    """A target that does not fit the model or its output."""


@dataclass(frozen=True)
class Region:
    """Where a segmentation target sums its class's scores: a mask over the scores' h x w, with what it is in words."""

    shape: tuple[int, int]
    packed: bytes  # np.packbits of the h x w mask, row-major
    description: str

    @classmethod
    def of_mask(cls, mask: np.ndarray, description: str) -> Region:
        mask = np.asarray(mask, dtype=bool)
        if mask.ndim != 2:
            raise TargetError(f"A region's mask is 2-D (height x width), not of shape {mask.shape}.")
        return cls((int(mask.shape[0]), int(mask.shape[1])), np.packbits(mask).tobytes(), description)

    @classmethod
    def whole(cls, shape: tuple[int, int]) -> Region:
        return cls.of_mask(np.ones(shape, dtype=bool), "the whole image")

    @classmethod
    def of_box(cls, shape: tuple[int, int], box: Box, description: str = "") -> Region:
        """The pixels of `box` (x0, y0, x1, y1 in the scores' pixels, ends exclusive), clipped to the scores."""
        h, w = shape
        x0, y0 = max(0, int(round(box[0]))), max(0, int(round(box[1])))
        x1, y1 = min(w, int(round(box[2]))), min(h, int(round(box[3])))
        if x1 <= x0 or y1 <= y0:
            raise TargetError(f"The box {tuple(box)} holds no pixel of the {w} x {h} scores.")
        mask = np.zeros(shape, dtype=bool)
        mask[y0:y1, x0:x1] = True
        return cls.of_mask(mask, description or f"the box ({x0}, {y0}) to ({x1}, {y1})")

    @cached_property
    def mask(self) -> np.ndarray:
        count = self.shape[0] * self.shape[1]
        return np.unpackbits(np.frombuffer(self.packed, dtype=np.uint8), count=count).reshape(self.shape).astype(bool)

    @property
    def pixels(self) -> int:
        return int(self.mask.sum())


@dataclass(frozen=True)
class SegmentationTarget(Target):
    """Class `index`'s per-pixel scores summed over `region` (N x C x h x w -> N): SemanticSegmentationTarget."""

    kind: ClassVar[str] = "segmentation"
    region: Region | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.objective != "logit" or self.contrast is not None:
            raise TargetError("A segmentation target sums a class's scores over a region; it has no other objective.")
        if self.region is None:
            raise TargetError("A segmentation target needs its region (segmentation_target makes one).")

    def score(self, logits: Any) -> torch.Tensor:
        scores = _tensor(logits, 4, "per-pixel class scores (batch x classes x height x width)")
        assert self.region is not None
        if tuple(scores.shape[-2:]) != self.region.shape:
            raise TargetError(f"The region is {self.region.shape[1]} x {self.region.shape[0]} pixels and the scores "
                              f"{int(scores.shape[-1])} x {int(scores.shape[-2])}.")
        mask = torch.from_numpy(self.region.mask).to(scores.device, scores.dtype)
        return (scores.float()[:, self.index] * mask).sum((-2, -1))

    def describe(self, lm: LoadedModel) -> str:
        assert self.region is not None
        return f"{lm.label(self.index)} over {self.region.description}"


@dataclass(frozen=True)
class DetectionTarget(Target):
    """One detection (its label `index` and `box`, from the clean image), found again in each pass's detections."""

    kind: ClassVar[str] = "detection"
    box: Box = (0.0, 0.0, 0.0, 0.0)
    add_iou: bool = False
    iou_threshold: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.objective != "logit" or self.contrast is not None:
            raise TargetError("A detection target scores one box; it has no other objective.")

    def score(self, logits: Any) -> torch.Tensor:
        if not isinstance(logits, (list, tuple)):
            raise TargetError("A detection target scores a detector's list of detections (one dict per image).")
        return torch.stack([self._one(detections) for detections in logits])

    def _one(self, detections: dict[str, torch.Tensor]) -> torch.Tensor:
        boxes = detections["boxes"]
        zero = boxes.new_zeros(()).float()
        if len(boxes) == 0:
            return zero
        ious = box_iou(torch.tensor([self.box], device=boxes.device, dtype=boxes.dtype), boxes)[0]
        found = int(ious.detach().argmax())
        if float(ious[found].detach()) <= self.iou_threshold or int(detections["labels"][found]) != self.index:
            return zero
        score = detections["scores"][found].float()
        return score + ious[found].float() if self.add_iou else score

    def describe(self, lm: LoadedModel) -> str:
        x0, y0, x1, y1 = (round(v) for v in self.box)
        return f"{lm.label(self.index)} at ({x0}, {y0}) to ({x1}, {y1})" + (" · score + IoU" if self.add_iou else "")


@dataclass(frozen=True)
class EmbeddingTarget(Target):
    """The cosine similarity of each image's embedding to `reference` (a vector of the model's dimensions)."""

    kind: ClassVar[str] = "embedding"
    reference: tuple[float, ...] = ()
    reference_name: str = "the reference image"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.objective != "logit" or self.contrast is not None:
            raise TargetError("An embedding target is a cosine similarity; it has no other objective.")
        if not self.reference or not all(np.isfinite(self.reference)):
            raise TargetError("An embedding target needs a finite reference embedding.")

    def score(self, logits: Any) -> torch.Tensor:
        vectors = _tensor(logits, 2, "embeddings (batch x dimensions)").float()
        if int(vectors.shape[1]) != len(self.reference):
            raise TargetError(f"The reference has {len(self.reference)} dimensions and the embeddings "
                              f"{int(vectors.shape[1])}.")
        reference = torch.tensor(self.reference, device=vectors.device, dtype=vectors.dtype)
        return F.cosine_similarity(vectors, reference[None], dim=1)

    def describe(self, lm: LoadedModel) -> str:
        return f"similarity to {self.reference_name}"


@dataclass(frozen=True)
class RegressionTarget(Target):
    """Output `index`'s value minus `baseline` (batch x outputs -> N)."""

    kind: ClassVar[str] = "regression"
    baseline: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.objective != "logit" or self.contrast is not None:
            raise TargetError("A regression target is an output's value; it has no other objective.")
        if not np.isfinite(self.baseline):
            raise TargetError("A regression target's baseline must be a finite number.")

    def score(self, logits: Any) -> torch.Tensor:
        values = _tensor(logits, 2, "values (batch x outputs)").float()
        return values[:, self.index] - self.baseline

    def describe(self, lm: LoadedModel) -> str:
        name = lm.label(self.index)
        return name if not self.baseline else f"{name} − {self.baseline:g}"


def _tensor(output: Any, ndim: int, what: str) -> torch.Tensor:
    if not isinstance(output, torch.Tensor) or output.ndim != ndim:
        raise TargetError(f"This target scores {what}; the model returned something else.")
    return output


def _output(lm: LoadedModel, x: torch.Tensor) -> Any:
    """The model's output for one image (no graph): what a target is fixed from."""
    with torch.inference_mode():
        return lm.model(lm.input_tensor(x[:1]))


def _need(lm: LoadedModel, kind: str) -> None:
    if lm.kind != kind:
        raise TargetError(f"'{lm.spec}' is {a_model(lm.kind)}; a {kind} target does not apply to it.")


def segmentation_target(lm: LoadedModel, x: torch.Tensor, index: int | str,
                        region: str | Box = "predicted") -> SegmentationTarget:
    """Class `index` of a segmentation model over `region` of image `x` (1 x 3 x H x W): "predicted" (the pixels the
    model labels with that class: its predicted mask), "image" (every pixel), or a box (x0, y0, x1, y1) in the
    input's pixels, scaled to the scores' resolution."""
    _need(lm, "segmentation")
    cls = lm.find_class(index)
    scores = _output(lm, x)
    shape = (int(scores.shape[-2]), int(scores.shape[-1]))
    if region == "image":
        return SegmentationTarget(cls, region=Region.whole(shape))
    if region == "predicted":
        mask = (scores[0].argmax(0) == cls).cpu().numpy()
        if not mask.any():
            raise TargetError(f"No pixel is labelled '{lm.label(cls)}' in this image: pick a box or the whole image.")
        return SegmentationTarget(cls, region=Region.of_mask(mask, "its predicted mask"))
    if isinstance(region, str) or len(region) != 4:
        raise TargetError(f"A region is 'predicted', 'image' or a box (x0, y0, x1, y1), not {region!r}.")
    sy, sx = shape[0] / int(x.shape[-2]), shape[1] / int(x.shape[-1])
    box = (region[0] * sx, region[1] * sy, region[2] * sx, region[3] * sy)
    described = "the box ({:g}, {:g}) to ({:g}, {:g})".format(*region)
    return SegmentationTarget(cls, region=Region.of_box(shape, box, described))


@dataclass(frozen=True)
class Detection:
    """One box a detector found in an image: its label, box (input pixels) and score."""

    label: int
    box: Box
    score: float


def detections(lm: LoadedModel, x: torch.Tensor, threshold: float = 0.5) -> list[Detection]:
    """The detections of image `x` scored at least `threshold`, best first (at most MAX_DETECTIONS)."""
    _need(lm, "detection")
    found = _output(lm, x)[0]
    rows = zip(found["labels"].tolist(), found["boxes"].tolist(), found["scores"].tolist(), strict=True)
    kept = [Detection(int(label), tuple(float(v) for v in box), float(score))  # type: ignore[arg-type]
            for label, box, score in rows if score >= threshold]
    return sorted(kept, key=lambda d: -d.score)[:MAX_DETECTIONS]


def detection_target(detection: Detection, add_iou: bool = False, iou_threshold: float = 0.5) -> DetectionTarget:
    """The target of one detection: its class score where found again, plus its box's IoU where `add_iou`."""
    return DetectionTarget(detection.label, box=detection.box, add_iou=add_iou, iou_threshold=iou_threshold)


def embedding_target(lm: LoadedModel, reference: torch.Tensor, name: str = "the reference image") -> EmbeddingTarget:
    """The cosine similarity to the embedding of the `reference` image (1 x 3 x H x W, preprocessed)."""
    _need(lm, "embedding")
    vector = _output(lm, reference)[0].float().cpu()
    return EmbeddingTarget(0, reference=tuple(float(v) for v in vector), reference_name=name)


def regression_target(lm: LoadedModel, index: int | str = 0, baseline: float = 0.0) -> RegressionTarget:
    """Output `index` of a regression model, minus `baseline`."""
    _need(lm, "regression")
    return RegressionTarget(lm.find_class(index), baseline=float(baseline))
