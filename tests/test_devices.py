"""interpret.devices: only devices this machine has, with clear refusals for the others."""
import pytest
import torch

from interpret.devices import available_devices, default_device, describe_device_failure, resolve_device
from interpret.errors import DeviceError


def test_the_cpu_is_always_listed_last_and_gpus_come_first():
    devices = available_devices()
    assert devices[-1].id == "cpu" and devices[-1].label == "cpu"
    cuda = [d for d in devices if d.id.startswith("cuda")]
    assert len(cuda) == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    assert all(" GiB" in d.label for d in cuda)
    assert default_device() == devices[0].id


def test_known_names_resolve_to_torch_devices():
    assert resolve_device(" cpu ") == torch.device("cpu")
    assert resolve_device(None) == torch.device(default_device())


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_missing_gpu_is_refused_with_the_devices_that_exist():
    for name in ("cuda", "cuda:0"):
        with pytest.raises(DeviceError, match=r"Device 'cuda:0' is not available here\. Available: .*cpu"):
            resolve_device(name)


def test_a_device_that_does_not_exist_is_refused():
    with pytest.raises(DeviceError, match="Device 'cuda:99' is not available here"):
        resolve_device("cuda:99")
    with pytest.raises(DeviceError, match="Device 'tpu' is not available here"):
        resolve_device("tpu")


def test_device_failures_become_one_sentence_that_says_what_to_do():
    oom = describe_device_failure(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB\nmore detail"), "cuda:0")
    assert oom.startswith("The device cuda:0 ran out of memory.") and "cpu" in oom and "\n" not in oom
    other = describe_device_failure(RuntimeError("illegal memory access\ntrace"), "cuda:0")
    assert other == ("The computation failed on cuda:0: illegal memory access. "
                     "Switch the device to cpu in the sidebar and try again.")
