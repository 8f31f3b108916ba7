"""The compute devices this machine really has."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import DeviceError


@dataclass(frozen=True)
class DeviceInfo:
    id: str  # what torch.device() takes: "cpu", "cuda:0", "mps"
    label: str  # what a person reads


def available_devices() -> list[DeviceInfo]:
    """GPUs first (each CUDA device with name and memory, then MPS), CPU last."""
    devices = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            devices.append(DeviceInfo(f"cuda:{i}", f"cuda:{i} · {props.name} · {props.total_memory / 2**30:.0f} GiB"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(DeviceInfo("mps", "mps · Apple GPU"))
    devices.append(DeviceInfo("cpu", "cpu"))
    return devices


def default_device() -> str:
    """The first GPU if there is one, else the CPU."""
    return available_devices()[0].id


def resolve_device(name: str | None) -> torch.device:
    """Check that a device name exists on this machine and return it."""
    name = (name or default_device()).strip()
    known = {d.id for d in available_devices()}
    if name == "cuda":
        name = "cuda:0"
    if name not in known:
        raise DeviceError(f"Device '{name}' is not available here. Available: {', '.join(sorted(known))}.")
    return torch.device(name)


def cpu_budget(affinity: int, quota: str | None) -> int:
    """CPUs this process may really use: the CPUs it may run on (`affinity`), capped by a cgroup v2 quota
    (`cpu.max`, e.g. "200000 100000" for two CPUs; "max ..." or None for none)."""
    cpus = max(1, int(affinity))
    fields = (quota or "").split()
    if len(fields) == 2 and fields[0] != "max":
        try:
            cpus = min(cpus, max(1, math.ceil(int(fields[0]) / int(fields[1]))))
        except (ValueError, ZeroDivisionError):
            pass
    return cpus


def usable_cpus() -> int:
    """CPUs of this machine that this process may use (affinity and a container's cgroup quota)."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota = Path("/sys/fs/cgroup/cpu.max").read_text()
    except OSError:
        quota = None
    return cpu_budget(affinity, quota)


def fit_cpu_threads() -> int:
    """Lower torch's intra-op threads to the usable CPUs where it counts more (a container limited to 2 CPUs on
    a 64-core host: torch counts the host's cores, and 32 threads on 2 CPUs are several times slower than 2);
    never raises it. Returns the thread count. Called once by the app and the CLI; a library user keeps torch's
    own setting."""
    usable = usable_cpus()
    if torch.get_num_threads() > usable:
        torch.set_num_threads(usable)
    return torch.get_num_threads()


def free_memory(device: torch.device) -> int:
    """Bytes free now on the device (CUDA: the driver's count; CPU: MemAvailable), or 0 when unknown."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
