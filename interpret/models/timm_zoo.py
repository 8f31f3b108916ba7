"""timm models by name, pretrained from the Hugging Face cache or hub."""
from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import ModelLoadError, WeightsUnavailableError
from ..policy import require_hub_download
from ..preprocess import Preprocessing
from ..zoo_preprocessing import timm_preprocessing
from .classes import check_names
from .configs import check_config, check_parameters, read_config
from .first_pass import check_class_count
from .network import reachable


def _timm():
    try:
        import timm
    except ImportError as exc:
        raise ModelLoadError("timm is not installed (pip install timm).") from exc
    return timm


def timm_names(pretrained_only: bool = False) -> list[str]:
    return sorted(_timm().list_models(pretrained=pretrained_only))


def _cached(model: nn.Module) -> bool:
    """Whether the weights of a timm model are already in the Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    cfg = getattr(model, "pretrained_cfg", {}) or {}
    repo = cfg.get("hf_hub_id")
    if not repo:
        return False
    for filename in ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"):
        if isinstance(try_to_load_from_cache(repo, filename), str):
            return True
    return False


HUB_PREFIX = "hf-hub:"


def _hub_repo(name: str) -> str | None:
    """'hf-hub:org/name' -> 'org/name' (a Hugging Face Hub repository timm builds from its config.json)."""
    if not name.startswith(HUB_PREFIX):
        return None
    repo = name[len(HUB_PREFIX):].split("@")[0]
    if repo.count("/") != 1 or not all(part and part.replace("-", "").replace("_", "").replace(".", "").isalnum()
                                       for part in repo.split("/")):
        raise ModelLoadError(f"'timm:{name}' does not name a Hub repository (hf-hub:ORG/NAME).")
    return repo


def _not_cached(name: str, repo: str, what: str = "pretrained weights", files: str = "file 'model.safetensors'",
                ) -> WeightsUnavailableError:
    from huggingface_hub.constants import HF_HUB_CACHE

    return WeightsUnavailableError(
        f"The {what} of timm '{name}' are not on this machine and huggingface.co cannot be reached. "
        f"They are expected in the Hugging Face cache '{HF_HUB_CACHE}' (repository '{repo}', {files}); "
        "or give a local weights file, or choose the bundled model.")


def class_names(model: nn.Module) -> list[str] | None:
    """Names from the pretrained config (`label_names`), or timm's ImageNet subset names for its head, if any."""
    cfg = getattr(model, "pretrained_cfg", {}) or {}
    classes = int(getattr(model, "num_classes", 0) or 0)
    names = cfg.get("label_names")
    if isinstance(names, (list, tuple)) and len(names) == classes and all(isinstance(n, str) and n for n in names):
        descriptions = cfg.get("label_descriptions")
        if isinstance(descriptions, dict) and all(isinstance(descriptions.get(n), str) for n in names):
            return list(check_names([descriptions[n] for n in names], "config.json (label_descriptions)"))
        return list(check_names(list(names), "config.json (label_names)"))
    try:
        from timm.data import ImageNetInfo, infer_imagenet_subset

        subset = infer_imagenet_subset(model)
        if subset and subset != "imagenet-1k":  # 1000 classes get torchvision's ImageNet names (models/classes.py)
            info = ImageNetInfo(subset)
            found = list(info.label_descriptions())
            if len(found) == classes:
                return [d.split(",")[0] for d in found]
    except Exception:  # an old timm without ImageNetInfo, or a subset it does not know: names stay 'class N'
        return None
    return None


def _hub_config(name: str, repo: str) -> str:
    """The path of an `hf-hub:` repository's config.json on this machine (downloaded where it is not cached)."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    cached = try_to_load_from_cache(repo, "config.json")
    if isinstance(cached, str):
        return cached
    require_hub_download(f"timm:{name}")
    if not reachable("huggingface.co"):
        raise _not_cached(name, repo, "config and weights", "files 'config.json' and 'model.safetensors'")
    try:
        return hf_hub_download(repo, "config.json")
    except Exception as exc:
        raise WeightsUnavailableError(f"Reading the config of timm '{name}' failed: {str(exc)[:200]}") from exc


def _check_hub_config(timm: Any, name: str, repo: str, kwargs: dict[str, Any]) -> None:
    """Bound what an `hf-hub:` config.json declares before timm builds it: its sizes (models/configs.py), then the
    parameters of the model built on the meta device."""
    config = read_config(_hub_config(name, repo), f"timm:{name}")
    check_config(config, f"timm:{name}")
    check_parameters(lambda: timm.create_model(name, pretrained=False, **kwargs), f"timm:{name}")


def build_timm(name: str, pretrained: bool, num_classes: int | None = None) -> tuple[nn.Module, Preprocessing, list[str] | None]:
    """A timm architecture (`NAME` or `hf-hub:ORG/NAME`) and, if `pretrained`, its weights from the cache or hub."""
    timm = _timm()
    repo = _hub_repo(name)
    if repo is None and not timm.is_model(name):
        raise ModelLoadError(f"timm has no model named '{name}'.")
    if num_classes is not None:
        check_class_count(num_classes, f"timm:{name}")
    kwargs = {"num_classes": num_classes} if num_classes else {}
    if repo is not None:
        _check_hub_config(timm, name, repo, kwargs)
    try:
        skeleton = timm.create_model(name, pretrained=False, **kwargs)
    except Exception as exc:
        if repo is None:
            raise
        raise WeightsUnavailableError(f"Reading the config of timm '{name}' failed: {str(exc)[:200]}") from exc
    if not pretrained:
        return skeleton, timm_preprocessing(skeleton), None
    if not _cached(skeleton):
        if repo is not None:
            require_hub_download(f"timm:{name}")
        if not reachable("huggingface.co"):
            raise _not_cached(name, (skeleton.pretrained_cfg or {}).get("hf_hub_id", repo or name))
    try:
        model = timm.create_model(name, pretrained=True, **kwargs)
    except Exception as exc:
        raise WeightsUnavailableError(f"Loading the pretrained weights of timm '{name}' failed: {str(exc)[:200]}") from exc
    return model, timm_preprocessing(model), class_names(model)
