"""What a model library refuses while a source loads a user's files or names, as one-line ModelLoadErrors.

A source checks what it can first and names the file (checkpoints.py, configs.py, sources/). What a library
still raises after those checks (transformers, huggingface_hub, safetensors, timm: a damaged safetensors file,
a name the Hub's rules refuse, weights that do not fit their config) is about the user's model, not a bug here:
`library_error` turns it into a ModelLoadError that names the spec. An exception raised in this package's own
code is left alone (the edges report it as unexpected), and so are memory and device failures (they get advice).
"""
from __future__ import annotations

from ..errors import ModelLoadError, first_line, is_device_failure

LIBRARIES = ("transformers", "huggingface_hub", "safetensors", "timm")


def raised_in(exc: BaseException) -> str | None:
    """The top-level package of the module whose code raised `exc` (its innermost traceback frame), if known."""
    tb = exc.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = tb.tb_frame.f_globals.get("__name__")
    return module.split(".")[0] if isinstance(module, str) else None


def library_error(exc: Exception, spec: str) -> ModelLoadError | None:
    """A ModelLoadError for an exception a model library raised while loading `spec`, or None to let it pass."""
    if isinstance(exc, MemoryError) or is_device_failure(exc):
        return None
    kind = type(exc).__name__
    text = first_line(exc, 200)
    if kind == "SafetensorError":
        return ModelLoadError(f"'{spec}': a safetensors file of the model is damaged or not a safetensors file ({text}).")
    if kind == "HFValidationError":
        return ModelLoadError(f"'{spec}' is not a valid Hugging Face Hub name ({text}); give ORG/NAME.")
    if raised_in(exc) not in LIBRARIES:
        return None
    if "ignore_mismatched_sizes" in text:  # transformers' words point at a report it logged, not in the message
        return ModelLoadError(f"'{spec}': its weights do not fit the model its config.json describes (a layer of "
                              "another shape, such as a head for another number of classes).")
    return ModelLoadError(f"'{spec}' could not be loaded: {kind}: {text}")
