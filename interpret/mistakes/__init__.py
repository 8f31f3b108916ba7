"""Why did the model get it wrong: a labelled image set, its errors, calibration and contrastive maps.

No streamlit here; the page's helpers live in interpret/ui/mistakes_view.py.
"""
from .calibration import Calibration, calibration, least_sure
from .contrastive import ContrastiveExplanation, explain_mistake
from .demo import DEMO_LABELS, demo_set
from .evaluate import Evaluation, evaluate, start
from .export import result_rows, summary, to_csv
from .imageset import ImageSet, LabelledImage, from_tree, open_path, open_zip
from .labels import LabelMatch, match_labels
from .metrics import accuracy, confusion, confusion_pairs, images_of_pair, mistakes, per_class
from .safezip import ZipLimits

__all__ = ["Calibration", "ContrastiveExplanation", "DEMO_LABELS", "Evaluation", "ImageSet", "LabelMatch", "LabelledImage",
           "ZipLimits", "accuracy", "calibration", "confusion", "confusion_pairs", "demo_set", "evaluate", "explain_mistake",
           "from_tree", "images_of_pair", "least_sure", "match_labels", "mistakes", "open_path", "open_zip", "per_class",
           "result_rows", "start", "summary", "to_csv"]
