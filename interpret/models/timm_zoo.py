"""timm models by name, pretrained from the Hugging Face cache or hub."""
from __future__ import annotations

from torch import nn

from ..errors import ModelLoadError, WeightsUnavailableError
from ..preprocess import Preprocessing
from ..zoo_preprocessing import timm_preprocessing
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


def build_timm(name: str, pretrained: bool, num_classes: int | None = None) -> tuple[nn.Module, Preprocessing, list[str] | None]:
    timm = _timm()
    if not timm.is_model(name):
        raise ModelLoadError(f"timm has no model named '{name}'.")
    if num_classes is not None:
        check_class_count(num_classes, f"timm:{name}")
    kwargs = {"num_classes": num_classes} if num_classes else {}
    skeleton = timm.create_model(name, pretrained=False, **kwargs)
    if not pretrained:
        return skeleton, timm_preprocessing(skeleton), None
    if not _cached(skeleton) and not reachable("huggingface.co"):
        from huggingface_hub.constants import HF_HUB_CACHE

        repo = (skeleton.pretrained_cfg or {}).get("hf_hub_id", name)
        raise WeightsUnavailableError(
            f"The pretrained weights of timm '{name}' are not on this machine and huggingface.co cannot be reached. "
            f"They are expected in the Hugging Face cache '{HF_HUB_CACHE}' (repository '{repo}', file 'model.safetensors'); "
            "or give a local weights file, or choose the bundled model."
        )
    try:
        model = timm.create_model(name, pretrained=True, **kwargs)
    except Exception as exc:
        raise WeightsUnavailableError(f"Loading the pretrained weights of timm '{name}' failed: {str(exc)[:200]}") from exc
    return model, timm_preprocessing(model), None
