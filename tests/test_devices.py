"""interpret.devices: only devices this machine has, with clear refusals for the others."""
import pytest
import torch

from interpret.devices import available_devices, default_device, resolve_device
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


def test_the_cpu_budget_is_the_affinity_capped_by_a_cgroup_quota():
    from interpret.devices import cpu_budget

    assert cpu_budget(64, "200000 100000\n") == 2  # docker --cpus=2 on a 64-core host
    assert cpu_budget(64, "150000 100000") == 2  # 1.5 CPUs: two threads share them
    assert cpu_budget(4, "max 100000") == 4  # no quota
    assert cpu_budget(4, None) == 4 and cpu_budget(4, "garbage") == 4
    assert cpu_budget(2, "800000 100000") == 2  # a quota above the affinity does not add CPUs
    assert cpu_budget(0, "1000 100000") == 1  # never fewer than one


def test_torch_threads_are_lowered_to_the_usable_cpus_and_never_raised(monkeypatch):
    import interpret.devices as devices

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(max(2, before))
        monkeypatch.setattr(devices, "usable_cpus", lambda: 1)
        assert devices.fit_cpu_threads() == 1 == torch.get_num_threads()
        monkeypatch.setattr(devices, "usable_cpus", lambda: 64)
        assert devices.fit_cpu_threads() == 1  # more CPUs never raise what is set
    finally:
        torch.set_num_threads(before)
