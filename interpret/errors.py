"""User-facing errors: every message is meant to be shown as is, in the UI or the CLI."""


class InterpretError(Exception):
    """Base class for errors caused by what a user gave (a file, a name, a setting)."""


class ImageError(InterpretError):
    """An image that cannot be read, is too large, or is not an image at all."""


class ModelLoadError(InterpretError):
    """A model that cannot be built or loaded."""


class WeightsUnavailableError(ModelLoadError):
    """Pretrained weights that are neither cached locally nor downloadable."""


class LayerError(InterpretError):
    """A layer name that does not exist or does not fit the requested operation."""


class DeviceError(InterpretError):
    """A device that does not exist or failed (out of memory, unsupported operation)."""
