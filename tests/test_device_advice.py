"""Device advice is one function (errors.device_advice), right for each edge: the CLI says --device cpu, the app says
the sidebar; neither suggests cpu to a user already on it. The model loaders' device errors carry the failure and
get the edge's advice (the CLI used to tell users to "switch the device in the sidebar")."""
from __future__ import annotations

import pytest
import torch

from interpret.cli import main
from interpret.errors import DeviceError, device_advice

OOM = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 7.79 GiB total)\ndetail")
MPS_OP = NotImplementedError(
    "The operator 'aten::_upsample_bicubic2d_aa.out' is not currently implemented for the MPS device. If you want this "
    "op to be added in priority during the prototype phase of this feature, please comment on "
    "https://github.com/pytorch/pytorch/issues/77764. As a temporary fix, you can set the environment variable "
    "`PYTORCH_ENABLE_MPS_FALLBACK=1` to use the CPU as a fallback for this op.")
MISSING = DeviceError("Device 'cuda:7' is not available here. Available: cpu.")

EXPECTED = {
    ("cli", "oom"): "The device cuda:0 ran out of memory. Try --device cpu, or a smaller model or image.",
    ("app", "oom"): ("The device cuda:0 ran out of memory. Choose cpu as the device in the sidebar, or use a smaller "
                     "model or image."),
    ("cli", "mps"): ("The operator 'aten::_upsample_bicubic2d_aa.out' is not implemented on mps. Try --device cpu, or "
                     "set PYTORCH_ENABLE_MPS_FALLBACK=1 to run such operators on the CPU."),
    ("app", "mps"): ("The operator 'aten::_upsample_bicubic2d_aa.out' is not implemented on mps. Choose cpu as the "
                     "device in the sidebar, or restart the app with PYTORCH_ENABLE_MPS_FALLBACK=1 to run such "
                     "operators on the CPU."),
    ("cli", "missing"): "Device 'cuda:7' is not available here. Available: cpu. Give one of them with --device.",
    ("app", "missing"): ("Device 'cuda:7' is not available here. Available: cpu. Choose one of them as the device in "
                         "the sidebar."),
}
FAILURES = {"oom": (OOM, "cuda:0"), "mps": (MPS_OP, "mps"), "missing": (MISSING, "cuda:7")}


@pytest.mark.parametrize(("edge", "kind"), list(EXPECTED))
def test_each_edge_gets_its_own_advice(edge, kind):
    exc, device = FAILURES[kind]
    assert device_advice(exc, device, edge) == EXPECTED[edge, kind]


@pytest.mark.parametrize("edge", ["cli", "app"])
def test_a_loader_device_error_carries_the_failure_for_the_edge_to_advise_on(edge):
    wrapped = DeviceError.failed(OOM, "cuda:0")
    assert "sidebar" not in str(wrapped) and "--device" not in str(wrapped)  # no advice below the edges
    assert device_advice(wrapped, None, edge) == EXPECTED[edge, "oom"]


@pytest.mark.parametrize("edge", ["cli", "app"])
def test_no_advice_to_switch_to_the_device_already_in_use(edge):
    assert device_advice(OOM, "cpu", edge) == "The device cpu ran out of memory. Use a smaller model or image."
    failed = device_advice(RuntimeError("device-side assert triggered\ntrace"), "cpu", edge)
    assert failed == "The computation failed on cpu: device-side assert triggered."


def test_the_cli_advises_on_a_gpu_that_fails_while_the_model_loads(monkeypatch, capsys):
    """A model moved to a GPU that runs out of memory (models._to_device): the CLI said 'switch the device to cpu in
    the sidebar'."""
    import interpret.models as models

    def out_of_memory(self, *args, **kwargs):
        raise OOM

    monkeypatch.setattr(models, "resolve_device", lambda name: torch.device("cuda:0"))
    monkeypatch.setattr(torch.nn.Module, "to", out_of_memory)
    assert main(["predict", "sample:coffee", "--model", "torchvision:resnet18", "--weights", "random",
                 "--device", "cuda:0"]) == 1
    assert capsys.readouterr().err == f"error: {EXPECTED['cli', 'oom']}\n"


def test_the_cli_says_how_to_pick_a_device_this_machine_has(capsys):
    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    assert main(["predict", "sample:coffee", "--device", "cuda:7"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Device 'cuda:7' is not available here. Available: ") and err.count("\n") == 1
    assert err.endswith("Give one of them with --device.\n")


def test_the_app_says_the_sidebar_for_the_same_failures():
    pytest.importorskip("streamlit")
    from interpret.ui.errors import message_for

    assert message_for(OOM, "cuda:0") == EXPECTED["app", "oom"]
    assert message_for(MISSING, "cuda:7") == EXPECTED["app", "missing"]
    assert message_for(DeviceError.failed(MPS_OP, "mps")) == EXPECTED["app", "mps"]
    assert "--device" not in message_for(OOM)
