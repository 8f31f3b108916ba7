"""Weight files are read with every size bounded before it is allocated, on real crafted files."""
from __future__ import annotations

import io
import json
import os
import struct
import zipfile

import pytest
import torch
from torch import nn

from interpret import limits
from interpret.errors import ModelLoadError
from interpret.models.checkpoints import head_size, is_torchscript, read_state_dict


def saved(obj, **kwargs) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, **kwargs)
    return buffer.getvalue()


def rezipped(data: bytes, compress: str) -> bytes:
    """The same torch archive with the records whose name ends with `compress` deflated."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            kind = zipfile.ZIP_DEFLATED if info.filename.endswith(compress) else zipfile.ZIP_STORED
            target.writestr(info.filename, source.read(info), compress_type=kind)
    return out.getvalue()


def patched_central_directory(data: bytes, record: str, size: int) -> bytes:
    """The archive with `record`'s central-directory sizes (compressed and uncompressed) set to `size`."""
    data = bytearray(data)
    at = data.index(b"PK\x01\x02")
    while True:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46: at + 46 + name_length].decode().endswith(record):
            struct.pack_into("<II", data, at + 20, size, size)
            return bytes(data)
        extra, comment = struct.unpack_from("<HH", data, at + 30)
        at += 46 + name_length + extra + comment


def safetensors_file(header: dict, body: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def test_a_plain_state_dict_loads():
    state = nn.Linear(4, 3).state_dict()
    loaded = read_state_dict(saved(state), "linear.pth")
    assert set(loaded) == {"weight", "bias"} and torch.equal(loaded["weight"], state["weight"])


def test_a_legacy_pickle_state_dict_still_loads_with_weights_only():
    state = nn.Linear(4, 3).state_dict()
    data = saved(state, _use_new_zipfile_serialization=False)
    assert not zipfile.is_zipfile(io.BytesIO(data))
    assert torch.equal(read_state_dict(data, "old.pth")["bias"], state["bias"])


def test_a_compressed_storage_record_is_refused_before_torch_load_inflates_it():
    data = rezipped(saved({"w": torch.zeros(2**18)}), "data/0")  # 1 MB of zeros deflates to about 1 KB
    assert len(data) < 5_000
    with pytest.raises(ModelLoadError, match=r"holds a compressed record \('.*data/0'\)"):
        read_state_dict(data, "inflating.pth")


def test_declared_record_sizes_over_the_storage_bound_are_refused():
    data = patched_central_directory(saved({"w": torch.zeros(4)}), "data/0", limits.CHECKPOINT_STORAGE_BYTES + 1)
    with pytest.raises(ModelLoadError, match="limit CHECKPOINT_STORAGE_BYTES"):
        read_state_dict(data, "big.pth")


def test_a_record_the_file_does_not_hold_is_refused():
    data = patched_central_directory(saved({"w": torch.zeros(4)}), "data/0", 10 * 2**20)
    with pytest.raises(ModelLoadError, match="declares 10485760 bytes that the file does not hold"):
        read_state_dict(data, "short.pth")


def test_a_bad_central_directory_is_a_clear_message():
    data = bytearray(saved({"w": torch.zeros(4)}))
    at = data.index(b"PK\x01\x02")
    data[at:at + 4] = b"XXXX"  # the end record still says 'zip'; the directory it points to is garbage
    assert zipfile.is_zipfile(io.BytesIO(bytes(data)))
    with pytest.raises(ModelLoadError, match="is a damaged zip archive"):
        read_state_dict(bytes(data), "bad.pth")
    assert not is_torchscript(bytes(data))


def test_a_stride_zero_head_claiming_millions_of_classes_is_refused_at_once():
    state = nn.Linear(512, 10).state_dict()
    state["weight"] = torch.zeros(512).expand(2_000_000, 512)
    state["bias"] = torch.zeros(1).expand(2_000_000)
    data = saved(state)
    assert len(data) < 40_000
    with pytest.raises(ModelLoadError, match=r"'stride0.pth': tensor 'weight' claims 3,906 MB.*CHECKPOINT_TENSOR_BYTES"):
        read_state_dict(data, "stride0.pth")


def test_a_stride_zero_view_under_the_tensor_bound_is_refused_by_its_storage():
    state = {"weight": torch.zeros(512).expand(200_000, 512), "bias": torch.zeros(200_000)}
    with pytest.raises(ModelLoadError, match=r"tensor 'weight' of shape \(200000, 512\) claims 409,600,000 bytes "
                                             r"but stores 2,048 \(a stride-0 or overlapping view\)"):
        read_state_dict(saved(state), "stride0.pth")


def test_a_tensor_over_the_per_tensor_bound_is_refused():
    state = {"w": torch.zeros(1, dtype=torch.uint8).expand(limits.CHECKPOINT_TENSOR_BYTES + 1)}
    with pytest.raises(ModelLoadError, match="limit CHECKPOINT_TENSOR_BYTES"):
        read_state_dict(saved(state), "huge.pth")


def test_many_views_of_one_storage_are_refused_by_their_claimed_total():
    storage = torch.zeros(2**28, dtype=torch.uint8)  # 256 MB, one storage
    views = {f"v{i}": storage for i in range(limits.CHECKPOINT_CLAIMED_BYTES // 2**28 + 1)}
    from interpret.models.checkpoints import check_tensors

    with pytest.raises(ModelLoadError, match="limit CHECKPOINT_CLAIMED_BYTES"):
        check_tensors(views, "views.pth")


def test_the_head_class_count_is_bounded():
    reference = nn.Sequential(nn.Linear(8, 10))
    state = {"0.weight": torch.zeros(8).expand(limits.MAX_CLASSES + 1, 8), "0.bias": torch.zeros(1)}
    with pytest.raises(ModelLoadError, match=r"head '0.weight' has 100,001 classes.*limit MAX_CLASSES"):
        head_size(reference, state, "wide.pth")
    assert head_size(reference, {"0.weight": torch.zeros(7, 8), "0.bias": torch.zeros(7)}) == 7


def test_random_bytes_are_not_called_code():
    with pytest.raises(ModelLoadError, match="is not a readable PyTorch weights file") as refused:
        read_state_dict(os.urandom(4096), "noise.pth")
    assert "arbitrary Python code" not in str(refused.value)


def test_a_pickled_module_is_refused_as_code():
    with pytest.raises(ModelLoadError, match="needs arbitrary Python code to load"):
        read_state_dict(saved(nn.Linear(2, 2)), "module.pth")


def test_safetensors_round_trip():
    from safetensors.torch import save

    state = {"w": torch.arange(6.0).reshape(2, 3)}
    assert torch.equal(read_state_dict(save(state), "w.safetensors")["w"], state["w"])


@pytest.mark.parametrize(("header", "body", "message"), [
    ({"w": {"dtype": "F32", "shape": [2_000_000, 512], "data_offsets": [0, 4096000000]}}, b"\0" * 16,
     "the file does not hold it"),
    ({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}, b"\0" * 16, "the file does not hold it"),
    ({"w": {"dtype": "F32", "shape": [4]}}, b"\0" * 16, "incompletely"),
    ({"w": {"dtype": "U8", "shape": [limits.CHECKPOINT_TENSOR_BYTES + 1],
            "data_offsets": [0, limits.CHECKPOINT_TENSOR_BYTES + 1]}}, b"", "the file does not hold it"),
    ([1, 2], b"", "not a mapping"),
])
def test_safetensors_headers_are_checked_against_the_file(header, body, message):
    with pytest.raises(ModelLoadError, match=message):
        read_state_dict(safetensors_file(header, body), "x.safetensors")


def test_a_safetensors_header_longer_than_the_file_is_refused():
    data = struct.pack("<Q", 10**12) + b"{}"
    with pytest.raises(ModelLoadError, match="-byte header in a 10-byte file"):
        read_state_dict(data, "x.safetensors")


def test_a_deeply_nested_safetensors_header_is_a_clear_message():
    raw = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ModelLoadError, match="unreadable safetensors header"):
        read_state_dict(struct.pack("<Q", len(raw)) + raw, "deep.safetensors")
