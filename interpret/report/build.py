"""A report's parts from the package's own objects (a LoadedModel, InputImages, Attributions, Predictions): one
conversion for the pages and for `interpret report`, so both hold the same for the same inputs. Nothing here
computes a map or a prediction: it takes what was computed and shown.

The equivalent CLI commands name photos as `sample:NAME` or by their file names, and model files by their file
names only (names.public_spec): a report never carries a folder of the machine it was made on.
"""
from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from .. import limits
from ..render import ScaleInfo
from .content import Guess, MapPanel, ModelFacts, Photo, Section, Table
from .names import public_spec
from .scales import DisplaySettings

if TYPE_CHECKING:
    from ..attribution import Attribution
    from ..images import InputImage
    from ..models import LoadedModel
    from ..predict import Prediction
    from ..preprocess import Preprocessing

DEFAULT_DISPLAY = DisplaySettings()


def now() -> str:
    """The report's time stamp: UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def model_facts(lm: LoadedModel, weights: str = "", notes: Sequence[str] = ()) -> ModelFacts:
    """The model as a report names it (its spec without local folders)."""
    extra = (f"Weights: {lm.report}",) if lm.report else ()
    return ModelFacts(public_spec(lm.spec), lm.key, lm.preprocessing.describe(), str(lm.device), lm.activation,
                      lm.num_classes, public_spec(weights) if weights else "", (*extra, *notes))


def own_side(image: InputImage, pre: Preprocessing) -> int:
    """The side of the part of the photo the model sees, in the photo's own pixels (at most EXPORT_SIDE_MAX)."""
    left, top, right, bottom = pre.crop_box(*image.image.size)
    return int(min(limits.EXPORT_SIDE_MAX, max(1, round(max(right - left, bottom - top)))))


def region(image: InputImage, pre: Preprocessing, side: int) -> np.ndarray:
    """The part of the photo the model sees, at `side` x `side` px from the photo's own pixels (the crop's border,
    where it reaches past the photo, in the preprocessing's fill colour)."""
    photo = image.image.convert("RGB")
    left, top, right, bottom = pre.crop_box(*photo.size)
    box = (round(left), round(top), round(right), round(bottom))
    canvas = Image.new("RGB", (box[2] - box[0], box[3] - box[1]), tuple(pre.pad_fill))
    canvas.paste(photo, (-box[0], -box[1]))
    return np.asarray(canvas.resize((side, side), Image.Resampling.LANCZOS))


def guesses(predictions: Iterable[Prediction]) -> tuple[Guess, ...]:
    return tuple(Guess(int(p.index), str(p.label), float(p.prob)) for p in predictions)


def photo(lm: LoadedModel, image: InputImage, predictions: Iterable[Prediction] = (), export: int | None = None) -> Photo:
    """A photo as the model sees it, with its top classes; `export`: a side maps will be exported at, for which the
    photo's own pixels are kept (when it is larger than the model's input)."""
    seen = lm.preprocessing.model_view(image.image)
    side = own_side(image, lm.preprocessing)
    wanted = min(side, export) if export else 0
    kept = region(image, lm.preprocessing, wanted) if wanted > seen.shape[0] else None
    return Photo(image.name, image.sha256, image.image.size, seen, side, kept, guesses(predictions), image_arg(image))


def map_caption(a: Attribution) -> str:
    """A map's caption, as the Saliency page writes it: the method's label (and objective), the layer, the target's
    name, the parameters and the seconds it took."""
    from ..attribution import REGISTRY

    label = REGISTRY[a.method].label if a.method in REGISTRY else a.method
    objective = "" if a.objective == "logit" else f" ({a.objective})"
    return f"{label}{objective} · " + a.caption().split(" · ", 1)[1]


def panel(a: Attribution, image: InputImage, scale: ScaleInfo, alpha: float, caption: str | None = None) -> MapPanel:
    """A drawn map: the Attribution, its photo, and the scale and opacity it was drawn with."""
    from ..attribution import REGISTRY

    label = REGISTRY[a.method].label if a.method in REGISTRY else a.method
    return MapPanel(image.sha256, image.name, a.method, label, a.target, a.target_label, a.objective, a.layer,
                    tuple(a.params), a.values, scale, float(alpha), caption if caption is not None else map_caption(a),
                    a.note)


# ---------------------------------------------------------------- settings and the equivalent commands

def image_arg(image: InputImage) -> str:
    """How the CLI names the photo: `sample:NAME` for a sample photo (same name and bytes), else its file name."""
    from ..samples import SAMPLES, sample_bytes

    for name, (file_name, _) in SAMPLES.items():
        if image.name == file_name:
            try:
                if sample_bytes(name) == image.data:
                    return f"sample:{name}"
            except Exception:  # noqa: BLE001 - a sample whose package is missing is just not this photo
                continue
    return image.name


def preprocessing_args(pre: Preprocessing) -> list[str]:
    """The CLI flags that give exactly this preprocessing (cli/preprocessing_args.py's flags)."""
    def numbers(values: Sequence[float]) -> str:
        return ",".join(f"{v:g}" for v in values)

    return ["--resize", str(pre.resize_size), "--crop", str(pre.crop_size), "--resize-mode", pre.resize_mode,
            "--interpolation", pre.interpolation, "--mean", numbers(pre.mean), "--std", numbers(pre.std),
            "--bgr" if pre.channel_order == "BGR" else "--rgb", "--size-rounding", pre.size_rounding,
            "--crop-rounding", pre.crop_rounding, "--pad-fill", numbers(pre.pad_fill), "--resize-backend", pre.backend]


def model_args(lm: LoadedModel, weights: str | None = None, edited: bool = False, activation: str | None = None,
               model_kwargs: str = "", trust_code: bool = False, ema: bool = False, classes: str = "") -> list[str]:
    """The CLI's model options for this model: spec, weights, device, and what was changed from the source's own."""
    args = ["--model", public_spec(lm.spec)]
    if weights:
        args += ["--weights", weights if weights == "random" else public_spec(weights)]
    if ema:
        args.append("--ema")
    if model_kwargs:
        args += ["--model-kwargs", model_kwargs]
    if classes:
        args += ["--classes", public_spec(classes)]
    if activation:
        args += ["--activation", activation]
    if str(lm.device) != "cpu":
        args += ["--device", str(lm.device)]
    if trust_code:
        args.append("--trust-code")
    return args + (preprocessing_args(lm.preprocessing) if edited else [])


def display_args(settings: DisplaySettings) -> list[str]:
    """The report command's display flags that differ from the app's defaults."""
    args: list[str] = []
    for flag, field in (("--mode", "mode"), ("--cmap", "cmap"), ("--alpha", "alpha"), ("--clip", "clip_percentile")):
        value = getattr(settings, field)
        if value != getattr(DEFAULT_DISPLAY, field):
            args += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return args + (["--shared-scale"] if settings.shared_scale else [])


def param_args(method: str, params: dict[str, Any], scoped: bool) -> list[str]:
    """A method's parameters that differ from their defaults as --param flags (`scoped`: METHOD.KEY=VALUE, as
    `report` takes them)."""
    from ..attribution import REGISTRY

    defaults = {p.name: p.default for p in REGISTRY[method].params} if method in REGISTRY else {}
    args = []
    for key, value in sorted(params.items()):
        if key in defaults and value == defaults[key]:
            continue
        text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
        args += ["--param", f"{method}.{key}={text}" if scoped else f"{key}={text}"]
    return args


def commands(images: Sequence[InputImage], methods: Sequence[str], params: dict[str, dict[str, Any]],
             target: int | None, objective: str, layer: str | None, settings: DisplaySettings,
             model: Sequence[str]) -> tuple[str, ...]:
    """`interpret report` for the whole view, then one `interpret explain` per method (its .npy map per photo)."""
    from ..attribution import REGISTRY

    photos = [image_arg(image) for image in images]
    common = (["--target", str(target)] if target is not None else []) \
        + (["--objective", objective] if objective != "logit" else [])
    report = ["interpret", "report", *photos, "--methods", ",".join(methods), *common,
              *(["--layer", layer] if layer and any(REGISTRY[m].uses_layer for m in methods if m in REGISTRY) else []),
              *[a for m in methods for a in param_args(m, params.get(m, {}), scoped=True)],
              *display_args(settings), *model, "--out", "report.html"]
    lines = [shlex.join(report)]
    for method in methods:
        uses_layer = method in REGISTRY and REGISTRY[method].uses_layer
        name = "{name}_" + method + ".npy" if len(photos) > 1 else f"{method}.npy"
        lines.append(shlex.join(["interpret", "explain", *photos, "--method", method, *common,
                                 *(["--layer", layer] if layer and uses_layer else []),
                                 *param_args(method, params.get(method, {}), scoped=False), *model, "--npy", name]))
    return tuple(lines)


def predict_command(images: Sequence[InputImage], model: Sequence[str]) -> str:
    """`interpret predict` for the photos: their top classes, as a page without maps shows them."""
    return shlex.join(["interpret", "predict", *[image_arg(image) for image in images], *model, "--top", "5"])


def map_settings(methods: Sequence[str], params: dict[str, dict[str, Any]], target: str, objective: str,
                 layer: str | None, settings: DisplaySettings) -> tuple[tuple[str, str], ...]:
    """The settings a view of maps was drawn with, as rows of (setting, value)."""
    from ..attribution import REGISTRY

    labels = [f"{REGISTRY[m].label} ({m})" if m in REGISTRY else m for m in methods]
    rows = [("methods", ", ".join(labels)), ("target", target), ("objective", objective)]
    if layer and any(REGISTRY[m].uses_layer for m in methods if m in REGISTRY):
        rows.append(("CAM layer", layer))
    for method in methods:
        if params.get(method):
            rows.append((f"{REGISTRY[method].label if method in REGISTRY else method} parameters",
                         ", ".join(f"{k}={v}" for k, v in sorted(params[method].items()))))
    rows += [("sign", settings.mode), ("colour map", settings.cmap), ("opacity", f"{settings.alpha:g}"),
             ("clip percentile", f"{settings.clip_percentile:g}"),
             ("scale", "one shared by every map" if settings.shared_scale else "each map its own")]
    return tuple(rows)


def mistakes_section(ev: Any, rows: int = 20) -> Section:
    """The Mistakes page's summary of an evaluated labelled set (mistakes.export.summary): accuracy, calibration,
    the classes worst first, the most frequent confusions and the most confident mistakes."""
    from ..mistakes.export import summary
    from ..mistakes.metrics import per_class

    s = summary(ev, top_mistakes=rows)
    k = next(key for key in s if key.startswith("top") and key != "top1")
    lines = [f"Set {s['set']}: {s['images']} images evaluated" + ("" if s["complete"] else f" so far ({s['coverage']})")
             + f". Top-1 accuracy {s['top1']:.1%}, {k[:3]}-{k[3:]} accuracy {s[k]:.1%}, expected calibration error "
             f"{s['ece']:.3f}.", *s["unmatched_labels"]]
    if s["unreadable"]:
        lines.append(f"{len(s['unreadable'])} images could not be decoded.")
    classes = Table("Per class, worst first", ("class", "index", "images", "correct", "accuracy", "most often taken for"),
                    tuple(tuple(row.values()) for row in per_class(ev)[:rows]))
    pairs = Table("Most frequent confusions", ("true", "predicted", "images"),
                  tuple((p["true"], p["predicted"], p["count"]) for p in s["confusion_pairs"][:rows]))
    worst = Table("Most confident mistakes", ("image", "true", "predicted", "probability", "true class probability"),
                  tuple((m["path"], m["true"], m["predicted"], m["probability"], m["true_class_probability"])
                        for m in s["mistakes"]))
    return Section("Mistakes", tuple(lines), (classes, pairs, worst))
