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


class NotAnsweredError(InterpretError):
    """A loaded model that has not answered within MODEL_ANSWER_SECONDS: its work goes on in the background."""

    def __init__(self, message: str, waiting: object = None):
        super().__init__(message)
        self.waiting = waiting  # what the page waits for (a background job, with `active`), if anything


class OutputError(InterpretError):
    """An output file (--out, --npy, --csv, --vis-out) that cannot be written where it was asked for."""


# Words in a RuntimeError's message that show it came from a device (a GPU's driver, memory or kernels)
# rather than from a bug or a user's file; anything else is reported as unexpected, without device advice.
_DEVICE_WORDS = ("cuda", "cudnn", "cublas", "cufft", "nccl", "mps", "device", "gpu", "rocm", "xpu")


def is_device_failure(exc: BaseException) -> bool:
    """A real device failure: torch's OutOfMemoryError, or a RuntimeError whose message names CUDA, MPS or the device.

    Checked by name so this layer imports no torch (torch.cuda.OutOfMemoryError is a RuntimeError subclass).
    A plain MemoryError (host memory) or any other RuntimeError is not a device failure.
    """
    if type(exc).__name__ == "OutOfMemoryError" and type(exc).__module__.startswith("torch"):
        return True
    if isinstance(exc, DeviceError):
        return True
    if not isinstance(exc, RuntimeError):
        return False
    text = str(exc).lower()
    return any(word in text for word in _DEVICE_WORDS)


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message, at most `limit` characters: what one-line reports show."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return text if len(text) <= limit else text[:limit] + "..."


def exit_call(exc: SystemExit) -> str:
    """The call that raised a SystemExit, as a user's code wrote it: 'sys.exit()', 'sys.exit(3)', "sys.exit('bye')"."""
    return "sys.exit()" if exc.code is None else f"sys.exit({exc.code!r})"
