"""Cache keys are the full sha256 of a canonical encoding: different requests and models never share one."""
from __future__ import annotations

import re

import torch

from interpret.models import model_key
from interpret.models.keys import canonical_key
from interpret.ui.state import ModelRequest

SHA256 = re.compile(r"[0-9a-f]{64}")


def test_class_names_that_join_to_the_same_text_get_different_keys():
    a, b = ("x\ny", "z"), ("x", "y\nz")
    assert "\n".join(a) == "\n".join(b)  # what the old keys hashed
    assert ModelRequest("file:m.pt", "cpu", class_names=a).key != ModelRequest("file:m.pt", "cpu", class_names=b).key
    assert model_key("file:m.pt", torch.device("cpu"), b"w", a) != model_key("file:m.pt", torch.device("cpu"), b"w", b)


def test_a_request_key_is_a_full_sha256_of_every_field():
    base = ModelRequest("file:m.pt", "cpu", weights="m.pt", weights_data=b"\x00" * 10, class_names=("a", "b"))
    assert SHA256.fullmatch(base.key)
    assert base.key == ModelRequest("file:m.pt", "cpu", "m.pt", b"\x00" * 10, ("a", "b")).key  # stable
    others = [
        ModelRequest("file:m.pt", "cpu", "m.pt", b"\x00" * 11, ("a", "b")),
        ModelRequest("file:m.pt", "cuda:0", "m.pt", b"\x00" * 10, ("a", "b")),
        ModelRequest("file:m.pt", "cpu", "n.pt", b"\x00" * 10, ("a", "b")),
        ModelRequest("file:m.pt", "cpu", "m.pt", b"\x00" * 10, None),
        ModelRequest("file:m.pt", "cpu", "m.pt", b"\x00" * 10, ("a", "b"), trust_code=True),
        ModelRequest("file:m.pt", "cpu", "m.pt", None, ("a", "b")),
    ]
    assert len({base.key, *(r.key for r in others)}) == 1 + len(others)


def test_none_and_the_text_none_differ():
    assert canonical_key(None) != canonical_key("None") != canonical_key("null")
    assert ModelRequest("timm:x", "cpu", weights=None).key != ModelRequest("timm:x", "cpu", weights="pretrained").key
