"""Feature maps: one layer's activations, channel statistics and rankings, and feature visualisation."""
from .activations import LayerActivations, channels_first, layer_activations
from .attention_maps import AttentionMaps, attention_maps, has_attention
from .mosaic import PER_PAGE, channel_mosaic, page_count
from .ranking import SORT_LABELS, SORTS, channel_order, grad_x_activation, sort_keys
from .stats import ChannelStats, all_channel_stats, channel_stats, histogram
from .visualize import FeatureVisualization, visualize_channel

__all__ = [
    "LayerActivations", "channels_first", "layer_activations", "PER_PAGE", "channel_mosaic", "page_count",
    "SORT_LABELS", "SORTS", "channel_order", "grad_x_activation", "sort_keys", "ChannelStats",
    "all_channel_stats", "channel_stats", "histogram", "FeatureVisualization",
    "visualize_channel", "AttentionMaps", "attention_maps", "has_attention",
]
