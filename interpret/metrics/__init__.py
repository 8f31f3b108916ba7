"""How far a map can be believed: faithfulness (deletion, insertion, ROAD), localisation against a
known mask, reference maps to compare with, and the model-randomisation sanity check.

Torch-level code only (no streamlit); the app, the CLI and the benchmarks all use it.
"""
from .faithfulness import Curve, FaithfulnessProbe
from .localisation import auroc, mass_accuracy, pointing_game, rank_accuracy
from .ranking import pixel_order
from .reference import REFERENCE_MAPS, centre_map, random_map, reference_maps, sobel_map
from .road import RoadScore, impute_linear
from .sanity import (
                     SanityOptions,
                     SanityResult,
                     SanityStage,
                     Verdict,
                     cascading_randomisation,
                     cascading_randomisation_many,
                     randomisation_stages,
)
from .similarity import same_maps, spearman, ssim

__all__ = [
    "Curve", "FaithfulnessProbe", "RoadScore", "impute_linear",
    "auroc", "mass_accuracy", "pointing_game", "rank_accuracy",
    "pixel_order",
    "REFERENCE_MAPS", "centre_map", "random_map", "reference_maps", "sobel_map",
    "SanityOptions", "SanityResult", "SanityStage", "Verdict", "cascading_randomisation", "cascading_randomisation_many",
    "randomisation_stages",
    "same_maps", "spearman", "ssim",
]
