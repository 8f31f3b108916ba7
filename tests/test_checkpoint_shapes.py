"""Checkpoints in the shapes training code really writes: wrapped, prefixed, EMA copies, safetensors; each loaded
strictly with a one-line report of what was matched, and refused with the tensors that do not fit."""
from __future__ import annotations

import io

import pytest
import torch
from safetensors.torch import save as save_safetensors
from torch import nn

from interpret import limits
from interpret.errors import ModelLoadError
from interpret.models.checkpoints import fit_checkpoint, read_checkpoint


class TinyNet(nn.Module):
    """A small classifier with the usual parts: convolutions, batch norm (with its buffers) and a linear head."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


class Holder(nn.Module):
    """A Lightning-style module: the network is its attribute `model`, the loss has no weights."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.model = net
        self.loss = nn.CrossEntropyLoss()


def build(classes: int | None) -> nn.Module:
    return TinyNet(classes or 10)


def saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def trained() -> TinyNet:
    torch.manual_seed(1)
    net = TinyNet(5)
    for p in net.parameters():
        p.data.normal_()
    net.features[1].running_mean.normal_()
    return net


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def prefixed(state: dict, prefix: str) -> dict:
    return {prefix + k: v for k, v in state.items()}


FORMS = {
    "plain": (lambda s: s, "matched 9 of 9 tensors (head of 5 outputs)"),
    "state_dict": (lambda s: {"state_dict": s, "epoch": 3}, "matched 9 of 9 tensors (wrapper 'state_dict', head of 5 outputs)"),
    "model": (lambda s: {"model": s, "optimizer": {"state": {}, "param_groups": []}},
              "matched 9 of 9 tensors (wrapper 'model', head of 5 outputs)"),
    "deepspeed module": (lambda s: {"module": s}, "matched 9 of 9 tensors (wrapper 'module', head of 5 outputs)"),
    "nested": (lambda s: {"checkpoint": {"model": {"state_dict": s}}},
               "matched 9 of 9 tensors (wrapper 'checkpoint' > 'model' > 'state_dict', head of 5 outputs)"),
    "compiled submodule": (lambda s: {k.replace("features.", "features._orig_mod.", 1): v for k, v in s.items()},
                           "matched 9 of 9 tensors (prefix '._orig_mod.' removed, head of 5 outputs)"),
    "compiled under DDP": (lambda s: {"state_dict": prefixed(s, "module._orig_mod.")},
                           "matched 9 of 9 tensors (wrapper 'state_dict', prefixes 'module.', '_orig_mod.' removed, "
                           "head of 5 outputs)"),
}


@pytest.mark.parametrize("form", list(FORMS))
def test_each_wrapped_or_prefixed_form_loads_exactly_with_its_report(trained, form):
    wrap, report = FORMS[form]
    model, line = fit_checkpoint(build, saved(wrap(trained.state_dict())), "net.pth")
    assert line == report
    assert same_weights(model, trained)


def test_a_real_dataparallel_state_dict_and_a_compiled_one_in_safetensors_lose_their_prefixes(trained):
    parallel = nn.DataParallel(trained)  # on the CPU it only wraps: its state dict is what DDP users save
    model, line = fit_checkpoint(build, saved(parallel.state_dict()), "dp.pth")
    assert line == "matched 9 of 9 tensors (prefix 'module.' removed, head of 5 outputs)" and same_weights(model, trained)
    # torch.compile's OptimizedModule names its weights '_orig_mod.<name>' (made by hand: compiling costs 4 s)
    compiled = save_safetensors(prefixed(trained.state_dict(), "_orig_mod."))
    model, line = fit_checkpoint(build, compiled, "compiled.safetensors")
    assert line == "matched 9 of 9 tensors (prefix '_orig_mod.' removed, head of 5 outputs)"
    assert same_weights(model, trained)


def test_a_lightning_checkpoint_loses_model_prefix_because_the_keys_then_fit(trained):
    lightning = {"state_dict": Holder(trained).state_dict(), "epoch": 4, "global_step": 120,
                 "pytorch-lightning_version": "2.4.0", "hyper_parameters": {"lr": 0.1}, "optimizer_states": [{}]}
    model, line = fit_checkpoint(build, saved(lightning), "epoch=4.ckpt")
    assert line == "matched 9 of 9 tensors (wrapper 'state_dict', prefix 'model.' removed, head of 5 outputs)"
    assert same_weights(model, trained)


def test_a_model_prefix_that_is_part_of_the_architecture_stays():
    torch.manual_seed(2)
    holder = Holder(TinyNet(3))
    model, line = fit_checkpoint(lambda classes: Holder(TinyNet(classes or 10)), saved(holder.state_dict()), "h.pth")
    assert line == "matched 9 of 9 tensors (head of 3 outputs)" and same_weights(model, holder)


def test_ema_weights_only_when_asked(trained):
    ema = TinyNet(5)
    ema.load_state_dict({k: v * 0.5 for k, v in trained.state_dict().items()})
    both = saved({"state_dict": trained.state_dict(), "state_dict_ema": ema.state_dict(), "epoch": 9})
    model, line = fit_checkpoint(build, both, "last.pth.tar")
    assert line == "matched 9 of 9 tensors (wrapper 'state_dict', head of 5 outputs)" and same_weights(model, trained)
    model, line = fit_checkpoint(build, both, "last.pth.tar", prefer="ema")
    assert line == "matched 9 of 9 tensors (EMA wrapper 'state_dict_ema', head of 5 outputs)"
    assert same_weights(model, ema)
    only_ema = saved({"model_ema": prefixed(ema.state_dict(), "module.")})
    model, line = fit_checkpoint(build, only_ema, "ema.pth")
    assert line == "matched 9 of 9 tensors (EMA wrapper 'model_ema', prefix 'module.' removed, head of 5 outputs)"
    assert same_weights(model, ema)
    with pytest.raises(ModelLoadError, match=r"'plain.pth': EMA weights were asked for, but the file holds none"):
        fit_checkpoint(build, saved(trained.state_dict()), "plain.pth", prefer="ema")
    with pytest.raises(ModelLoadError, match="is None \\(the regular ones\\) or 'ema', not 'best'"):
        fit_checkpoint(build, both, "last.pth.tar", prefer="best")


def test_an_swa_averaged_model_loses_its_counter_and_prefix(trained):
    from torch.optim.swa_utils import AveragedModel

    averaged = AveragedModel(trained)
    model, line = fit_checkpoint(build, saved(averaged.state_dict()), "swa.pth")
    assert line == ("matched 9 of 9 tensors (an AveragedModel's 'n_averaged' dropped, prefix 'module.' removed, "
                    "head of 5 outputs)")
    assert same_weights(model, trained)


def test_timm_train_script_checkpoints_load_with_and_without_ema(tmp_path):
    import timm
    from timm.utils import CheckpointSaver, ModelEmaV3

    torch.manual_seed(3)
    net = timm.create_model("test_resnet", num_classes=4)
    ema = ModelEmaV3(net, decay=0.5)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)  # the live weights move on; the EMA copy stays behind
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    saver = CheckpointSaver(net, optimizer, model_ema=ema, checkpoint_dir=str(tmp_path), recovery_dir=str(tmp_path))
    saver.save_checkpoint(epoch=0, metric=0.5)
    data = (tmp_path / "last.pth.tar").read_bytes()

    def timm_build(classes: int | None) -> nn.Module:
        return timm.create_model("test_resnet", num_classes=classes or 1000)

    model, line = fit_checkpoint(timm_build, data, "last.pth.tar")
    tensors = len(net.state_dict())
    assert line == f"matched {tensors} of {tensors} tensors (wrapper 'state_dict', head of 4 outputs)"
    assert same_weights(model, net)
    model, line = fit_checkpoint(timm_build, data, "last.pth.tar", prefer="ema")
    assert line == f"matched {tensors} of {tensors} tensors (EMA wrapper 'state_dict_ema', head of 4 outputs)"
    assert same_weights(model, ema.module)


def test_a_checkpoint_that_does_not_fit_names_what_is_missing_unexpected_and_reshaped(trained):
    state = dict(trained.state_dict())
    state["features.0.weight"] = torch.zeros(8, 3, 5, 5)  # another kernel size
    del state["features.1.running_var"]
    state["extra.weight"] = torch.zeros(2)
    state["extra.bias"] = torch.zeros(2)
    with pytest.raises(ModelLoadError) as refused:
        fit_checkpoint(build, saved({"state_dict": state}), "odd.pth")
    message = str(refused.value)
    assert message == ("'odd.pth' does not fit this architecture: matched 7 of 9 tensors (wrapper 'state_dict', "
                       "head of 5 outputs); 1 missing: features.1.running_var; 2 unexpected: extra.weight, extra.bias; "
                       "1 of another shape: features.0.weight (file 8x3x5x5, model 8x3x3x3).")


def test_another_architecture_is_refused_with_counts_and_the_first_keys():
    import torchvision

    data = saved(torchvision.models.squeezenet1_1(num_classes=3).state_dict())
    with pytest.raises(ModelLoadError) as refused:
        fit_checkpoint(build, data, "squeeze.pth")
    message = str(refused.value)
    assert message.startswith("'squeeze.pth' does not fit this architecture: matched 0 of 9 tensors; 7 missing: "
                              "features.1.weight, features.1.bias, features.1.running_mean, features.1.running_var, "
                              "... (7 in all); 50 unexpected: ")
    assert message.endswith("; 2 of another shape: features.0.weight (file 64x3x3x3, model 8x3x3x3), "
                            "features.0.bias (file 64, model 8).")
    assert "\n" not in message and len(message) < 600


def test_something_that_holds_no_state_dict_says_what_it_found():
    with pytest.raises(ModelLoadError, match=r"does not hold a state dict .*found 'epoch', 'notes'"):
        fit_checkpoint(build, saved({"epoch": 3, "notes": {"a": 1}}), "meta.pth")


def test_wrapping_deeper_than_the_bound_is_refused():
    obj: dict = TinyNet(2).state_dict()
    for _ in range(limits.CHECKPOINT_WRAPPER_DEPTH + 1):
        obj = {"model": obj}
    with pytest.raises(ModelLoadError, match="wrapped more than .* levels deep .*CHECKPOINT_WRAPPER_DEPTH"):
        fit_checkpoint(build, saved(obj), "deep.pth")


def test_one_dict_shared_under_every_wrapper_key_is_searched_once():
    """A pickle can make one dict the value of many keys at every level: visited once each, it is quick to refuse."""
    level: dict = {"nothing": 1}
    for _ in range(limits.CHECKPOINT_WRAPPER_DEPTH - 1):
        level = {key: level for key in ("state_dict", "model", "module", "net", "weights", "params", "model_ema")}
    data = saved(level)  # the pickler memoises the shared dict: a small file
    assert len(data) < 3_000
    with pytest.raises(ModelLoadError, match="does not hold a state dict"):
        read_checkpoint(data, "shared.pth")


def test_load_model_reports_how_a_zoo_checkpoint_was_matched(tmp_path):
    """SqueezeNet's head is a 1 x 1 convolution: its class count is read from it as from a linear head."""
    import torchvision

    from interpret.models import load_model

    torch.manual_seed(4)
    net = torchvision.models.squeezenet1_1(num_classes=3)
    path = tmp_path / "ddp.pth"
    torch.save({"model": prefixed(net.state_dict(), "module."), "epoch": 30}, path)
    lm = load_model("torchvision:squeezenet1_1", weights=str(path))
    assert lm.report == "matched 52 of 52 tensors (wrapper 'model', prefix 'module.' removed, head of 3 outputs)"
    assert lm.num_classes == 3 and torch.equal(lm.model.classifier[1].weight, net.classifier[1].weight)


def test_the_cli_loads_the_ema_weights_with_ema(tmp_path, capsys):
    import json

    import timm

    from interpret.cli import main

    torch.manual_seed(5)
    net, ema = timm.create_model("test_resnet", num_classes=3), timm.create_model("test_resnet", num_classes=3)
    path = tmp_path / "last.pth.tar"
    torch.save({"state_dict": net.state_dict(), "state_dict_ema": ema.state_dict(), "epoch": 1}, path)
    tops = {}
    for flags in ([], ["--ema"]):
        assert main(["predict", "sample:coffee", "--model", "timm:test_resnet", "--weights", str(path), "--json",
                     *flags]) == 0
        tops[tuple(flags)] = [row["prob"] for row in json.loads(capsys.readouterr().out)[0]["top"]]
    assert tops[()] != tops[("--ema",)]
    from interpret.models import load_model

    lm = load_model("timm:test_resnet", weights=str(path), prefer="ema")
    assert lm.report == f"matched {len(ema.state_dict())} of {len(ema.state_dict())} tensors (EMA wrapper " \
                        "'state_dict_ema', head of 3 outputs)"
    assert torch.equal(lm.model.fc.weight, ema.fc.weight)
