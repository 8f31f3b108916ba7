"""interpret/errors.py: the one list of user-facing errors, and which failures count as device failures."""
import inspect

import pytest
import torch

import interpret.errors as errors
from interpret.errors import (
    ClassNamesError,
    DeviceError,
    ImageError,
    ImageSetError,
    InterpretError,
    LayerError,
    ModelLoadError,
    NotAnsweredError,
    OutputError,
    ParameterError,
    WeightsUnavailableError,
    first_line,
    is_device_failure,
)

# every edge's error class and what it must be caught as
EXPECTED = {
    ImageError: InterpretError,
    ImageSetError: ImageError,  # a set is made of images; older callers catch ImageError
    ModelLoadError: InterpretError,
    WeightsUnavailableError: ModelLoadError,
    ClassNamesError: ModelLoadError,  # the names are part of the model asked for
    LayerError: InterpretError,
    DeviceError: InterpretError,
    ParameterError: InterpretError,
    OutputError: InterpretError,
    NotAnsweredError: InterpretError,  # a page's wait for a model that may hang: one line, the session goes on
}


def test_the_module_defines_exactly_the_listed_error_classes():
    defined = {obj for _, obj in inspect.getmembers(errors, inspect.isclass)
               if issubclass(obj, Exception) and obj.__module__ == errors.__name__}
    assert defined == set(EXPECTED) | {InterpretError}


@pytest.mark.parametrize("cls, parent", EXPECTED.items(), ids=lambda c: getattr(c, "__name__", ""))
def test_each_error_is_caught_as_its_parent_and_documented(cls, parent):
    assert issubclass(cls, parent) and issubclass(cls, InterpretError)
    assert cls.__doc__ and cls.__doc__.strip()
    with pytest.raises(parent, match="'x.txt' is bad"):
        raise cls("'x.txt' is bad")


@pytest.mark.parametrize("exc, expected", [
    (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
    (RuntimeError("CUDA error: an illegal memory access was encountered"), True),
    (RuntimeError("MPS backend out of memory"), True),
    (RuntimeError("Expected all tensors to be on the same device, but found at least two devices"), True),
    (DeviceError("The device cuda:7 is not available."), True),
    (RuntimeError("mat1 and mat2 shapes cannot be multiplied (1x512 and 2048x1000)"), False),
    (RuntimeError("Given groups=1, weight of size [64, 3, 7, 7], expected input to have 3 channels"), False),
    (MemoryError(), False),  # host memory: not the device's fault, no advice to switch devices
    (ValueError("cuda"), False),  # only RuntimeErrors carry device failures
])
def test_only_real_device_failures_count_as_device_failures(exc, expected):
    assert is_device_failure(exc) is expected


def test_a_real_shape_error_from_torch_is_not_a_device_failure():
    with pytest.raises(RuntimeError) as caught:
        torch.nn.Linear(3, 2)(torch.zeros(1, 4))
    assert not is_device_failure(caught.value)


def test_first_line_keeps_one_bounded_line():
    assert first_line(RuntimeError("first\nsecond")) == "first"
    assert first_line(RuntimeError("")) == ""
    assert first_line(RuntimeError("x" * 500), limit=10) == "x" * 10 + "..."
