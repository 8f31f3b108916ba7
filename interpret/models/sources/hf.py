"""`hf:NAME_OR_FOLDER`: a Hugging Face transformers image classifier (AutoModelForImageClassification) from a
local folder (config.json + model.safetensors) or a Hub name, with its id2label names and its own image
processor's preprocessing. Its forward returns an ImageClassifierOutput; the first pass wraps it so that
it returns the logits, keeping its layer names (interpret/models/outputs.py).

Remote code is never run (`trust_remote_code=False`): a config that needs it is refused. A Hub name loads
from the local cache when huggingface.co cannot be reached, and says where it is expected when it is not
there. In shared mode folders on the server are refused (policy.local_files_allowed), and so is a Hub name that
the server's cache does not hold (policy.require_hub_download).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ... import limits
from ...errors import ModelLoadError, ParameterError, WeightsUnavailableError
from ...policy import local_files_allowed, require_hub_download
from ...preprocess import IMAGENET, IMAGENET_MEAN, IMAGENET_STD, Preprocessing
from ...zoo_preprocessing import channel_values, transformers_preprocessing
from ..checkpoints import check_safetensors_file
from ..classes import check_names
from ..configs import check_config, check_parameters, read_config
from ..network import reachable
from .base import Built, LoadRequest, Source

HOST = "huggingface.co"
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?")
_DEFAULT_LABEL = re.compile(r"LABEL_\d+")


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as exc:
        raise ModelLoadError("Hugging Face models need the package 'transformers': from a checkout, "
                             "pip install -c constraints.txt -e '.[app,hf]' in its folder (the app's install with "
                             "the hf extra); an installed package: pip install 'interpret-image-models[hf]'.") from exc
    return transformers


def class_names(config: Any, source: str = "config.json (id2label)") -> tuple[str, ...] | None:
    """The config's id2label names in index order, checked as a class-names file's are (models/classes.py); None for
    transformers' placeholders (LABEL_0, LABEL_1, ...)."""
    labels = getattr(config, "id2label", None) or {}
    try:
        names = [str(labels[i]) for i in range(len(labels))]
    except KeyError:
        names = [str(labels.get(str(i), "")) for i in range(len(labels))]
    if not names or all(_DEFAULT_LABEL.fullmatch(n) for n in names) or not all(names):
        return None
    return check_names(names, source)


def model_kind(config: Any) -> str | None:
    """'regression' for a config whose problem_type says so (its outputs are values, not class scores), else None."""
    return "regression" if getattr(config, "problem_type", None) == "regression" else None


def activation(config: Any) -> str | None:
    """'sigmoid' for a multi-label config, else None (load_model's default for the head size)."""
    return "sigmoid" if getattr(config, "problem_type", None) == "multi_label_classification" else None


def processor_preprocessing(processor: Any) -> tuple[Preprocessing, str]:
    """The processor's exact preprocessing (zoo_preprocessing), or, where it cannot be reproduced, ImageNet's sizes
    with the processor's mean and std, and a report line saying so (the preprocessing stays editable)."""
    try:
        return transformers_preprocessing(processor), ""
    except ModelLoadError as exc:
        name = type(processor).__name__
        mean = channel_values(getattr(processor, "image_mean", None) or IMAGENET_MEAN, name, "mean")
        std = channel_values(getattr(processor, "image_std", None) or IMAGENET_STD, name, "std")
        return IMAGENET.replace(mean=mean, std=std), f"{exc} 224 px crops of 256 px with its mean/std are used instead."


def _folder_size(folder: Path, name: str) -> None:
    total = sum(p.stat().st_size for p in folder.iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file())
    if total > limits.CHECKPOINT_BYTES:
        raise ModelLoadError(f"'{name}' holds {total / 2**20:,.0f} MB of weights; models of up to "
                             f"{limits.CHECKPOINT_BYTES // 2**20:,} MB are loaded (limit CHECKPOINT_BYTES).")
    for weights in sorted(folder.glob("*.safetensors")):  # a damaged file is named before transformers reads it
        check_safetensors_file(weights, f"{name.rstrip('/')}/{weights.name}")


def _cached_folder(repo: str) -> Path | None:
    """The local cache's snapshot folder of a Hub repository, if its config is cached."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, "config.json")
    return Path(found).parent if isinstance(found, str) else None


def cached_classifiers(limit: int = 200) -> list[str]:
    """Hub names of the image classifiers in the local Hugging Face cache (a config.json whose architectures
    end in ForImageClassification), read from the cache's folders without the network."""
    import json

    from huggingface_hub import constants

    found: set[str] = set()
    for config in sorted(Path(constants.HF_HUB_CACHE).glob("models--*/snapshots/*/config.json"))[: limit * 4]:
        try:
            architectures = json.loads(config.read_text()[:1_000_000]).get("architectures") or []
        except (OSError, ValueError, AttributeError):
            continue
        if any(str(a).endswith("ForImageClassification") for a in architectures):
            found.add(config.parents[2].name.removeprefix("models--").replace("--", "/"))
    return sorted(found)[:limit]


def _hub_name(name: str) -> bool:
    """Whether `name` is a Hub repository id by the Hub's own rules (no '--' or '..', no '.git' or '-' at an end,
    huggingface_hub's validate_repo_id), checked before any cache lookup, which would raise HFValidationError."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not _REPO_ID.fullmatch(name) or ".." in name:
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def resolve(name: str) -> tuple[str, bool]:
    """Where to load `name` from and whether that is local only: a folder, a cached Hub name, or the Hub.

    In shared mode the server's folders are never looked at: a name that is not a Hub name gets the same answer
    whether or not such a folder exists, so a remote user learns nothing of the server's files."""
    if local_files_allowed():
        folder = Path(name).expanduser()
        if folder.is_dir():
            if not (folder / "config.json").is_file():
                raise ModelLoadError(f"The folder '{name}' has no config.json: save the model with save_pretrained(folder).")
            _folder_size(folder, name)
            return str(folder), True
    if not _hub_name(name):
        if not local_files_allowed():
            raise ModelLoadError(f"'hf:{name}' is not a Hugging Face Hub name (ORG/NAME), and shared mode is on: "
                                 "folders on the server are never read; give a Hub name.")
        raise ModelLoadError(f"'hf:{name}' is neither a folder nor a Hugging Face Hub name (ORG/NAME).")
    cached = _cached_folder(name)
    if cached is not None:
        _folder_size(cached, name)
        return (name, False) if reachable(HOST) else (str(cached), True)  # offline: the cached snapshot itself
    require_hub_download(f"hf:{name}")
    if not reachable(HOST):
        from huggingface_hub.constants import HF_HUB_CACHE

        raise WeightsUnavailableError(
            f"The Hugging Face model '{name}' is not on this machine and {HOST} cannot be reached. It is expected in "
            f"the Hugging Face cache '{HF_HUB_CACHE}' (repository '{name}', files config.json and model.safetensors), "
            "or give a local folder saved with save_pretrained.")
    return name, False


def _hub_file(where: str, local: bool, filename: str) -> Path | None:
    """A file of a folder or Hub repository on this machine (downloaded first where `where` is a Hub name and online);
    None where the repository has no such file."""
    if local:
        path = Path(where) / filename
        return path if path.is_file() else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return Path(hf_hub_download(where, filename))
    except EntryNotFoundError:
        return None
    except OSError as exc:
        raise WeightsUnavailableError(f"'hf:{where}' could not be read: {str(exc).splitlines()[0][:200]}") from exc


def _checked_config(transformers: Any, name: str, where: str, local: bool) -> Any:
    """The model's config, its config.json's sizes checked before transformers parses it (models/configs.py)."""
    path = _hub_file(where, local, "config.json")
    if path is None:
        raise ModelLoadError(f"'hf:{name}' has no config.json: save the model with save_pretrained(folder).")
    check_config(read_config(path, f"hf:{name}"), f"hf:{name}")
    return transformers.AutoConfig.from_pretrained(where, local_files_only=local, trust_remote_code=False)


def _refuse_missing(info: dict[str, Any], name: str) -> None:
    """Refuse a checkpoint that lacks weights the model needs: transformers would initialise them at random."""
    missing = sorted(info.get("missing_keys") or [])
    if missing:
        listed = ", ".join(f"'{key}'" for key in missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ModelLoadError(f"The checkpoint of 'hf:{name}' lacks {len(missing)} weight tensor"
                             f"{'s' if len(missing) != 1 else ''} the model needs ({listed}); transformers would "
                             "initialise them at random, so its predictions would mean nothing.")


def _default_preprocessing(config: Any) -> tuple[Preprocessing, str]:
    """ImageNet's pipeline at the config's image_size (a 0.875 crop, as 224 of 256), and a report line saying so."""
    size = getattr(config, "image_size", None)
    pre = IMAGENET
    if isinstance(size, int) and not isinstance(size, bool) and size != IMAGENET.crop_size:
        try:
            pre = IMAGENET.replace(crop_size=size, resize_size=min(limits.PREPROCESS_SIDE_MAX, int(size / 0.875)))
        except ParameterError:
            pre = IMAGENET
    return pre, (f"The model has no preprocessor_config.json: ImageNet's pipeline ({pre.crop_size} px crops of "
                 f"{pre.resize_size} px, ImageNet mean/std) is used; check it in the preprocessing settings.")


def _processor(transformers: Any, name: str, where: str, local: bool, config: Any) -> tuple[Preprocessing, str]:
    """The image processor's preprocessing and a report line; ImageNet's, said so, where the model has none; a
    processor file that transformers cannot read is refused (its pipeline is unknown)."""
    if _hub_file(where, local, "preprocessor_config.json") is None:
        return _default_preprocessing(config)
    try:
        processor = transformers.AutoImageProcessor.from_pretrained(where, local_files_only=local,
                                                                     trust_remote_code=False)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ModelLoadError(f"The preprocessor_config.json of 'hf:{name}' cannot be read by transformers "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}); its "
                             "preprocessing is unknown, so the model is not loaded.") from exc
    return processor_preprocessing(processor)


def load_hf(name: str) -> Built:
    transformers = _transformers()
    where, local = resolve(name)
    try:
        config = _checked_config(transformers, name, where, local)
        check_parameters(lambda: transformers.AutoModelForImageClassification.from_config(config), f"hf:{name}")
        model, info = transformers.AutoModelForImageClassification.from_pretrained(
            where, config=config, local_files_only=local, trust_remote_code=False, output_loading_info=True)
    except ValueError as exc:  # an architecture that is not an image classifier, or one that needs remote code
        raise ModelLoadError(f"'hf:{name}' is not a transformers image classifier that loads without remote code: "
                             f"{str(exc).splitlines()[0][:200]}") from exc
    except OSError as exc:
        raise WeightsUnavailableError(f"'hf:{name}' could not be loaded: {str(exc).splitlines()[0][:200]}") from exc
    _refuse_missing(info, name)
    preprocessing, report = _processor(transformers, name, where, local, model.config)
    names = class_names(model.config, f"hf:{name} config.json (id2label)")
    return Built(model, preprocessing, names, activation(model.config), report=report, kind=model_kind(model.config))


class HuggingFaceSource(Source):
    key = "hf"
    prefix = "hf:"
    label = "Hugging Face transformers (folder or Hub name)"
    form = "hf:FOLDER or hf:ORG/NAME"
    example = "hf:google/vit-base-patch16-224"
    needs = "transformers (the 'hf' extra); a save_pretrained folder, or a Hub name cached or downloadable"

    def names(self) -> list[str]:
        return cached_classifiers()

    def load(self, request: LoadRequest) -> Built:
        return load_hf(request.name)
