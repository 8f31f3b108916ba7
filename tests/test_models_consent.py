"""TorchScript is code: it loads only with consent, never in shared mode, and every model's first pass is checked.

The models are real TorchScript programs (scripted from the small modules below and from
the hostile suite's `hostile/scripted.py`): one writes a file when
it runs, one when it is loaded, others raise, return NaN, return 30 M scores or loop for seconds.
"""
from __future__ import annotations

import io
import os
import warnings

import pytest
import torch
import torchvision
from torch import nn

from hostile.scripted import HugeOutput, NanOutput, Raises, Tiny, first_pass_running
from interpret.cli import main
from interpret.errors import DeviceError, ModelLoadError
from interpret.limits import FIRST_FORWARD_SECONDS_ENV, MAX_CLASSES
from interpret.models import load_model
from interpret.policy import SHARED_ENV, CodeConsentRequired, SharedModeRefused

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.(script|save)` is deprecated:FutureWarning")


class WritesWhenRun(nn.Module):
    """Fills a file of the server with 'A's from its forward pass (torch.from_file, shared)."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        target = torch.from_file(self.path, shared=True, size=16, dtype=torch.uint8)
        target.fill_(65)
        return x.mean((2, 3)) + target[:1].float() * 0  # uses the mapping, so TorchScript keeps it


class WritesWhenLoaded(nn.Module):
    """Fills a file with 'B's from __setstate__, which torch.jit.load runs: loading alone runs its code."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.written = torch.zeros(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3)) + self.written * 0

    @torch.jit.export
    def __getstate__(self) -> tuple[str, bool]:
        return self.path, self.training

    @torch.jit.export
    def __setstate__(self, state: tuple[str, bool]) -> None:
        self.path, self.training = state
        target = torch.from_file(self.path, shared=True, size=16, dtype=torch.uint8)
        target.fill_(66)
        self.written = target[:1].float()


class Loops(nn.Module):
    """About 1.5 s of TorchScript interpreter work (a counted loop) before it returns."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        i = 0
        while i < 10_000_000:
            i += 1
        return x.mean((2, 3))


class OneRow(nn.Module):
    """Ignores the batch: one row of scores whatever the number of images."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:1].mean((2, 3))


class IntScores(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], 4, dtype=torch.long)


class Pair(nn.Module):
    """A tuple with no batch x classes tensor in it (a tuple that holds one is read for its logits)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.mean((1, 2, 3)), x


def scripted(module: nn.Module, path) -> str:
    torch.jit.script(module).save(str(path))
    return str(path)


@pytest.fixture()
def target(tmp_path):
    """A 16-byte file a hostile model overwrites if it runs."""
    path = tmp_path / "victim.bin"
    path.write_bytes(bytes(16))
    return path


def test_torchscript_without_consent_is_refused_and_its_code_never_runs(tmp_path, target):
    for module, mark in ((WritesWhenRun(str(target)), b"A"), (WritesWhenLoaded(str(target)), b"B")):
        target.write_bytes(bytes(16))
        path = scripted(module, tmp_path / "model.pt")
        target.write_bytes(bytes(16))  # saving does not run it; make sure nothing is left from scripting
        with pytest.raises(CodeConsentRequired) as info:
            load_model(path)
        message = str(info.value)
        assert "'model.pt' is a TorchScript file" in message and "--trust-code" in message and "trust_code=True" in message
        assert target.read_bytes() == bytes(16)
        load_model(path, trust_code=True)  # with consent it runs: the risk consent is about is real
        assert target.read_bytes() == mark * 16


def test_shared_mode_refuses_torchscript_even_with_consent(tmp_path, target, monkeypatch):
    path = scripted(WritesWhenLoaded(str(target)), tmp_path / "model.pt")
    target.write_bytes(bytes(16))
    monkeypatch.setenv(SHARED_ENV, "1")
    with pytest.raises(SharedModeRefused, match=f"shared mode is on \\({SHARED_ENV} is set\\)"):
        load_model(path, trust_code=True)
    assert target.read_bytes() == bytes(16)
    # plain weights stay allowed in shared mode: they are data, read with weights_only=True
    weights = tmp_path / "three.pth"
    torch.save(torchvision.models.resnet18(num_classes=3).state_dict(), weights)
    assert load_model("torchvision:resnet18", weights=str(weights)).num_classes == 3


def test_the_cli_asks_for_trust_code(tmp_path, capsys):
    path = scripted(Tiny(3), tmp_path / "tiny.pt")
    assert main(["predict", "sample:coffee", "--model", path, "--json"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--trust-code" in err and "tiny.pt" in err
    assert main(["predict", "sample:coffee", "--model", path, "--trust-code", "--json"]) == 0
    assert '"label": "class 0"' in capsys.readouterr().out


def test_loading_torchscript_shows_no_deprecation_warning(tmp_path):
    path = scripted(Tiny(3), tmp_path / "tiny.pt")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lm = load_model(path, trust_code=True)
    assert lm.num_classes == 3
    assert not [w for w in caught if "torch.jit" in str(w.message)], [str(w.message) for w in caught]


@pytest.mark.parametrize(("module", "expected"), [
    (Raises(), "'bad.pt' failed in its first forward pass (a batch of 2 images): builtins.RuntimeError: hostile forward raised"),
    (NanOutput(), "'bad.pt' returns NaN or infinite scores"),
    (OneRow(), "'bad.pt' returns 1 rows of scores for a batch of 2 images"),
    (IntScores(), "'bad.pt' returns torch.int64 scores; class scores must be floating point"),
    (Pair(), "'bad.pt' returns tuple, not a tensor of class scores"),
], ids=["raises", "nan", "one-row", "int", "tuple"])
def test_a_bad_first_pass_gives_one_clear_message(tmp_path, module, expected):
    path = scripted(module, tmp_path / "bad.pt")
    with pytest.raises(ModelLoadError) as info:
        load_model(path, trust_code=True)
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message and "Traceback" not in message and not isinstance(info.value, DeviceError)


def test_thirty_million_outputs_are_refused_by_the_class_cap(tmp_path):
    path = scripted(HugeOutput(), tmp_path / "huge.pt")
    # the pass itself allocates 2 x 30 M floats (240 MB); nothing after it (names, softmax) runs
    with pytest.raises(ModelLoadError, match=f"'huge.pt' has 30000000 outputs per image; between 1 and {MAX_CLASSES}"):
        load_model(path, trust_code=True)


def test_a_forward_that_runs_too_long_is_refused_at_the_time_bound(tmp_path, monkeypatch):
    path = scripted(Loops(), tmp_path / "slow.pt")
    monkeypatch.setenv(FIRST_FORWARD_SECONDS_ENV, "0.2")
    with pytest.raises(ModelLoadError, match="'slow.pt' did not finish its first forward pass .* within 0.2 s"):
        load_model(path, trust_code=True)
    assert first_pass_running("slow.pt"), "the loader waited for the pass to end instead of stopping at the bound"
    monkeypatch.setenv(FIRST_FORWARD_SECONDS_ENV, "60")
    assert load_model(path, trust_code=True).num_classes == 3  # the same model, given time, is fine


def test_nan_weights_are_refused_naming_the_tensor(tmp_path):
    model = torchvision.models.resnet18(num_classes=3)
    with torch.no_grad():
        model.layer2[0].conv1.weight[0, 0, 0, 0] = float("nan")
    weights = tmp_path / "nan.pth"
    torch.save(model.state_dict(), weights)
    with pytest.raises(ModelLoadError, match=r"'torchvision:resnet18 \(nan.pth\)' has NaN or infinite values in its "
                                             r"weights \('layer2.0.conv1.weight'\)"):
        load_model("torchvision:resnet18", weights=str(weights))
    tiny = Tiny(3)
    with torch.no_grad():
        tiny.fc.bias[1] = float("inf")
    with pytest.raises(ModelLoadError, match=r"'tiny.pt' has NaN or infinite values in its weights \('fc.bias'\)"):
        load_model(scripted(tiny, tmp_path / "tiny.pt"), trust_code=True)


def test_model_paths_must_be_regular_files(tmp_path):
    folder = tmp_path / "folder.pt"
    folder.mkdir()
    with pytest.raises(ModelLoadError, match="is a folder, not a file"):
        load_model(str(folder))
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)  # reading it would block forever
    with pytest.raises(ModelLoadError, match="is not a regular file"):
        load_model(str(fifo))


def test_torchscript_bytes_from_an_upload_need_consent_too():
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(Tiny(3)), buffer)
    with pytest.raises(CodeConsentRequired, match="'upload.pt' is a TorchScript file"):
        load_model("file:upload.pt", weights=buffer.getvalue())
    assert load_model("file:upload.pt", weights=buffer.getvalue(), trust_code=True).num_classes == 3


def test_zoo_heads_over_the_class_cap_are_refused_before_they_are_built():
    from interpret.models.timm_zoo import build_timm
    from interpret.models.torchvision_zoo import build_torchvision

    with pytest.raises(ModelLoadError, match=f"'torchvision:resnet18' has 2000000 classes; between 1 and {MAX_CLASSES}"):
        build_torchvision("resnet18", pretrained=False, num_classes=2_000_000)  # would be a 4 GB head
    with pytest.raises(ModelLoadError, match="'timm:resnet10t' has 2000000 classes"):
        build_timm("resnet10t", pretrained=False, num_classes=2_000_000)


def test_a_nul_in_a_spec_or_a_path_is_refused_clearly():
    for spec, weights in (("a\x00b", None), ("file:a\x00b.pt", None), ("torchvision:resnet18", "w\x00.pth")):
        with pytest.raises(ModelLoadError, match="cannot contain a NUL character"):
            load_model(spec, weights=weights)
