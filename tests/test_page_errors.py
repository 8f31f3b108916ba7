"""interpret/ui/errors.py: the UI's catch list, run inside a real Streamlit script by AppTest."""
import logging

import pytest
from streamlit.testing.v1 import AppTest


def script(kind: str, device: str) -> None:
    """Three sections, the middle one failing with `kind`: the other two must still be drawn."""
    import streamlit as st
    import torch

    from interpret.errors import ImageError
    from interpret.ui.errors import user_errors

    failures = {
        "user": lambda: ImageError("'x.png' is not an image ![x](http://127.0.0.1:9/p.png)"),
        "oom": lambda: torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        "shape": lambda: RuntimeError("mat1 and mat2 shapes cannot be multiplied (1x3 and 4x2)"),
        "memory": lambda: MemoryError(),
        "bug": lambda: ZeroDivisionError("division by zero"),
    }
    with user_errors(device):
        st.text("first section")
    with user_errors(device):
        raise failures[kind]()
    with user_errors(device):
        st.text("third section")


def run(kind: str, device: str = "cuda:0") -> AppTest:
    at = AppTest.from_function(script, args=(kind, device), default_timeout=120)
    at.run()
    assert not at.exception  # no traceback reaches the page
    assert [t.value for t in at.text] == ["first section", "third section"]  # one failing section hides nothing
    assert len(at.error) == 1
    return at


def test_a_user_error_is_its_one_line_message_as_text():
    message = run("user").error[0].value
    assert "is not an image" in message and "![" not in message and "device" not in message


@pytest.mark.parametrize("device, advice", [("cuda:0", "Choose cpu as the device"), ("cpu", None)])
def test_device_advice_only_for_a_device_failure_and_not_to_switch_to_the_same_device(device, advice):
    message = run("oom", device).error[0].value
    assert f"The device {device} ran out of memory" in message.replace("\\", "")
    assert (advice in message) if advice else ("Choose cpu" not in message)


@pytest.mark.parametrize("kind, words", [
    ("shape", ["Unexpected error", "RuntimeError", "mat1 and mat2"]),
    ("bug", ["Unexpected error", "ZeroDivisionError", "server log"]),
    ("memory", ["ran out of memory"]),
])
def test_other_failures_get_no_device_advice(kind, words):
    message = run(kind).error[0].value.replace("\\", "")
    assert all(word in message for word in words), message
    assert "device" not in message and "sidebar" not in message


def test_an_unexpected_error_is_logged_with_its_traceback(caplog):
    with caplog.at_level(logging.ERROR, logger="interpret"):
        run("bug")
    records = [r for r in caplog.records if r.name == "interpret"]
    assert records and records[0].exc_info and records[0].exc_info[0] is ZeroDivisionError


def maps_script() -> None:
    """Two methods on a real model, one of them on a layer that does not exist."""
    import streamlit as st

    from interpret.attribution import Target
    from interpret.models import load_model
    from interpret.samples import load_sample
    from interpret.ui.maps import compute_maps

    lm = load_model("torchvision:resnet18", weights="random")
    maps = compute_maps(lm, load_sample("coffee"), ["gradcam", "gradient"], {}, Target(0), "no_such_layer")
    st.text(" ".join(a.method for a in maps))


def test_a_failing_method_is_one_line_naming_it_and_the_other_maps_are_kept():
    at = AppTest.from_function(maps_script, default_timeout=300)
    at.run()
    assert not at.exception
    assert [t.value for t in at.text] == ["gradient"]
    assert len(at.error) == 1
    message = at.error[0].value.replace("\\", "")  # plain() escapes the underscores
    assert message.startswith("Grad-CAM: ") and "no_such_layer" in message
