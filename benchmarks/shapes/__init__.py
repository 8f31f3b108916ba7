"""A ground truth by construction for judging maps: synthetic shapes with known masks, a small CNN
trained on them, the protocol that scores every method against the masks, and its Markdown table.

Benchmark scaffolding, not metrics: the metrics themselves live in `interpret.metrics`.
"""
from .groundtruth import COLUMNS, REFERENCES, MethodScores, evaluate
from .model import ShapesNet, TrainedShapes, train_shapes
from .synthetic import CLASSES, SIZE, ShapesData, make_dataset
from .table import format_table

__all__ = ["CLASSES", "COLUMNS", "REFERENCES", "SIZE", "MethodScores", "ShapesData", "ShapesNet", "TrainedShapes",
           "evaluate", "format_table", "make_dataset", "train_shapes"]
