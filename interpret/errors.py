"""User-facing errors: every message is meant to be shown as is, in the UI or the CLI.

Each subclass covers one kind of thing a user hands over; its message names the file (or value) and the
problem in one line, so the edges (`interpret/cli/__init__.py`, `interpret/ui/errors.py`) can print it as is.
"""


class InterpretError(Exception):
    """Base class for errors caused by what a user gave (a file, a name, a setting)."""


class ImageError(InterpretError):
    """An image that cannot be read, is too large, or is not an image at all."""


class ImageSetError(ImageError):
    """A labelled set (zip, folder, CSV) that cannot be read or holds no usable labelled image.

    A subclass of `ImageError` because a set is made of images and older callers catch `ImageError`.
    """


class ModelLoadError(InterpretError):
    """A model that cannot be built or loaded."""


class WeightsUnavailableError(ModelLoadError):
    """Pretrained weights that are neither cached locally nor downloadable."""


class ClassNamesError(ModelLoadError):
    """A class-names file (.txt or .json) that cannot be read, does not hold a list of names, or does not fit the model.

    A subclass of `ModelLoadError`: the names are part of the model a user asks for, and callers catch that.
    """


class LayerError(InterpretError):
    """A layer name that does not exist or does not fit the requested operation."""


class DeviceError(InterpretError):
    """A device that does not exist or failed (out of memory, unsupported operation)."""


class ParameterError(InterpretError):
    """A method parameter or setting that is not a number, not finite, out of range or too costly."""


class OutputError(InterpretError):
    """An output file (--out, --npy, --csv, --vis-out) that cannot be written where it was asked for."""
