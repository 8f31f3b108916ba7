"""Attribution methods behind one `attribute()` call; importing this package registers them all."""
from . import (  # noqa: F401  (registers methods)
    attention,
    cam_variants,
    cams,
    deeplift,
    gradients,
    guided,
    legrad,
    lrp,
    path,
    perturbation,
    surrogate,
)
from .base import REGISTRY, Attribution, AttributionMethod, Context, Param, attribute, get_method, map_status, register
from .requirements import MethodUnavailable, Requirement, applicable
from .target import OBJECTIVES, Target

__all__ = ["REGISTRY", "Attribution", "AttributionMethod", "Context", "Param", "Target", "OBJECTIVES",
           "attribute", "get_method", "map_status", "register", "MethodUnavailable", "Requirement", "applicable"]
