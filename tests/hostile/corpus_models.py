"""Model files: pickles that need code, lying checkpoints and safetensors, TorchScript programs, odd paths.

API: `interpret.models.load_model(spec, weights=PATH | None, trust_code=...)`. CLI: `predict sample:coffee
--model SPEC [--weights PATH] [--trust-code] --json`. Weights go to torchvision's ResNet-18 (random init is
fast and needs no download); TorchScript files are the model themselves.
"""
from __future__ import annotations

import os
from pathlib import Path

from . import files as F
from . import scripted as S
from .cases import ACCEPT, EITHER, REFUSE, Case, Env
from .helpers import check_predicted, fifo, link_to, sparse, special, write
from .zipwriter import build_zip, stored

CATEGORY = "models"
ARCH = "torchvision:resnet18"
FORWARD_SECONDS = "1"  # the first-forward bound in these tests (limits.FIRST_FORWARD_SECONDS_ENV)


def _load(spec: str, **options):
    from interpret.models import load_model

    return load_model(spec, **options)


def _zeros(n: int):
    import torch

    return torch.zeros(n)


def _weights_api(built, env: Env):
    from interpret.models import load_model

    return load_model(ARCH, "cpu", weights=built["path"])


def _weights_cli(built) -> list[str]:
    return ["predict", "sample:coffee", "--model", ARCH, "--weights", built["path"], "--json"]


def _script_api(trust: bool):
    def api(built, env: Env):
        from interpret.models import load_model

        return load_model(f"file:{built['path']}", "cpu", trust_code=trust) if trust else load_model(f"file:{built['path']}")

    return api


def _script_cli(trust: bool):
    return lambda built: ["predict", "sample:coffee", "--model", built["path"], "--json"] + (["--trust-code"] if trust else [])


def classes(count: int):
    def check(value, built) -> None:
        assert len(value.class_names) == count, f"{len(value.class_names)} classes, expected {count}"

    return check


def _no_canary(built, result) -> None:
    assert not Path(built["canary"]).exists(), "the pickle's code ran: its canary file was created"


def _code_did_not_run(built, result) -> None:
    said = result.get("stdout", "") + result.get("stderr", "")
    assert "HOSTILE-CODE-RAN" not in said, "the TorchScript forward ran without consent"


def _weights(id, data, name, expect, cli=True, check=None, mentions=("{name}",), **kw) -> Case:
    return Case(id=f"models/{id}", category=CATEGORY, build=write(name, data), expect=expect, api=_weights_api,
                cli=_weights_cli if cli else None, check=check, check_cli=check_predicted if expect != REFUSE else None,
                mentions=mentions if expect != ACCEPT else (), **kw)


def _weights_path(id, name, make, **kw) -> Case:
    return Case(id=f"models/{id}", category=CATEGORY, build=special(name, make), expect=REFUSE, api=_weights_api,
                cli=_weights_cli, **kw)


def _with_canary(name: str, payload):
    def build(folder: Path):
        canary = folder / "PWNED"
        path = folder / name
        path.write_bytes(payload(str(canary)))
        return {"path": str(path), "name": name, "canary": str(canary)}

    return build


def _state(mutate):
    def data() -> bytes:
        state = F.resnet18_state()
        return F.torch_save(mutate(state))

    return data


def _nan_head(state):
    state["fc.weight"][0, 0] = float("nan")
    return state


def _inf_head(state):
    state["fc.weight"].fill_(float("inf"))
    return state


def _ten_classes(state):
    state["fc.weight"], state["fc.bias"] = state["fc.weight"][:10].clone(), state["fc.bias"][:10].clone()
    return state


def _no_classes(state):
    state["fc.weight"], state["fc.bias"] = state["fc.weight"][:0].clone(), state["fc.bias"][:0].clone()
    return state


def _drop_layer4(state):
    return {k: v for k, v in state.items() if not k.startswith("layer4.")}


def _bad_central_directory() -> bytes:
    """A checkpoint whose central directory records are overwritten: the end record still points at them."""
    data = bytearray(F.torch_save({"fc.bias": _zeros(4)}))
    start, end = data.index(b"PK\x01\x02"), data.rindex(b"PK\x05\x06")
    data[start:end] = bytes([0xDE]) * (end - start)
    return bytes(data)


def _safetensors_state() -> bytes:
    from safetensors.torch import save

    return save(_ten_classes(F.resnet18_state()))


WEIGHTS = [
    _weights("random-bytes-pth", lambda: os.urandom(4096), "random.pth", REFUSE, forbid=("arbitrary Python code",),
             why="random bytes were told they need arbitrary Python code"),
    _weights("random-bytes-pt", lambda: os.urandom(4096), "random.pt", REFUSE, cli=False, forbid=("arbitrary Python code",)),
    _weights("random-bytes-bin", lambda: os.urandom(4096), "random.bin", REFUSE, cli=False, forbid=("arbitrary Python code",)),
    _weights("random-bytes-safetensors", lambda: os.urandom(4096), "random.safetensors", REFUSE),
    _weights("empty-pth", lambda: b"", "empty.pth", REFUSE),
    _weights("empty-safetensors", lambda: b"", "empty.safetensors", REFUSE, cli=False),
    _weights("text-named-pth", lambda: b"just some notes\n" * 10, "notes.pth", REFUSE, cli=False,
             forbid=("arbitrary Python code",)),
    _weights_path("folder-named-pt", "weights.pt", lambda p: p.mkdir(), forbid=("does not exist",)),
    _weights_path("fifo-named-pth", "pipe.pth", fifo),
    _weights_path("link-to-dev-zero-named-pth", "zero.pth", link_to("/dev/zero")),
    _weights_path("sparse-10gb-pth", "huge.pth", sparse(10 * 2**30), why="over CHECKPOINT_BYTES: refused before reading"),
    Case("models/missing-weights-file", CATEGORY, lambda folder: {"path": str(folder / "gone.pth"), "name": "gone.pth"},
         REFUSE, api=_weights_api, cli=_weights_cli),
    Case("models/pickle-that-runs-code", CATEGORY, _with_canary("evil.pth", F.evil_pickle), REFUSE, api=_weights_api,
         cli=_weights_cli, after=_no_canary, why="a pickle whose loading calls Path.touch"),
    Case("models/torch-zip-with-code-object", CATEGORY, _with_canary("evil_zip.pth", F.evil_torch_zip), REFUSE,
         api=_weights_api, cli=_weights_cli, after=_no_canary),
    _weights("pickled-whole-module", lambda: F.torch_save(F.linear_module()), "module.pth", REFUSE, cli=False),
    _weights("stride-0-head-2M-classes", lambda: F.torch_save(F.strided_state(2_000_000)), "strided.pth", REFUSE, seconds=15,
             why="36 KB whose head claims 2 M classes: 4.5 GB of model"),
    _weights("stride-0-head-200k-classes", lambda: F.torch_save(F.strided_state(200_000)), "strided200k.pth", REFUSE,
             cli=False, seconds=15),
    _weights("compressed-record-inflates-1gb", lambda: F.inflating_checkpoint(2**30), "inflating.pth", REFUSE, seconds=15,
             why="a 1 MB zip whose storage record inflates to 1 GB inside torch.load"),
    _weights("bad-central-directory", _bad_central_directory, "baddir.pth", REFUSE, why="BadZipFile traceback"),
    _weights("truncated-checkpoint", lambda: F.torch_save({"fc.bias": _zeros(4)})[:300], "cut.pth", REFUSE,
             cli=False),
    _weights("safetensors-header-length-2^60", lambda: F.safetensors_bytes({}, declared_length=2**60), "liar.safetensors",
             REFUSE),
    _weights("safetensors-offsets-past-end", lambda: F.safetensors_bytes(
        {"fc.bias": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}, b"\0" * 16), "short.safetensors", REFUSE,
        cli=False),
    _weights("safetensors-claims-2M-classes", lambda: F.safetensors_bytes(
        {"fc.weight": {"dtype": "F32", "shape": [2_000_000, 512], "data_offsets": [0, 4_096_000_000]}}, b"\0" * 64),
        "claims.safetensors", REFUSE),
    _weights("safetensors-header-not-json", lambda: F.safetensors_bytes(b"{not json" + b" " * 20), "nojson.safetensors",
             REFUSE, cli=False),
    _weights("safetensors-header-nested-100k", lambda: F.safetensors_bytes(b"[" * 100_000 + b"]" * 100_000),
             "deep.safetensors", REFUSE, cli=False),
    _weights("safetensors-unknown-dtype", lambda: F.safetensors_bytes(
        {"fc.bias": {"dtype": "F128", "shape": [1000], "data_offsets": [0, 16000]}}, b"\0" * 16000), "dtype.safetensors",
        REFUSE, cli=False),
    _weights("safetensors-negative-shape", lambda: F.safetensors_bytes(
        {"fc.bias": {"dtype": "F32", "shape": [-1000], "data_offsets": [0, 4000]}}, b"\0" * 4000), "negative.safetensors",
        REFUSE, cli=False),
    _weights("nan-weights", _state(_nan_head), "nan.pth", REFUSE, seconds=20, why="NaN probabilities were shown"),
    _weights("inf-weights", _state(_inf_head), "inf.pth", REFUSE, cli=False, seconds=20),
    _weights("wrapped-with-non-tensor-values", lambda: F.torch_save({"state_dict": F.resnet18_state(), "epoch": 3,
             "optimizer": {"lr": 0.1}, "note": "best"}), "wrapped.pth", ACCEPT, check=classes(1000), seconds=20),
    _weights("string-among-tensors", lambda: F.torch_save({**F.resnet18_state(), "fc.weight": "hello"}), "strval.pth",
             REFUSE, cli=False, seconds=20),
    _weights("list-not-dict", lambda: F.torch_save([_zeros(3)]), "list.pth", REFUSE, cli=False),
    _weights("bare-tensor", lambda: F.torch_save(_zeros(3)), "tensor.pth", REFUSE, cli=False),
    _weights("missing-layer4", _state(_drop_layer4), "partial.pth", REFUSE, cli=False, seconds=20),
    _weights("ten-class-head", _state(_ten_classes), "ten.pth", ACCEPT, check=classes(10), seconds=20),
    _weights("zero-class-head", _state(_no_classes), "none.pth", REFUSE, seconds=20),
    _weights("module-prefixed-keys", _state(lambda s: {f"module.{k}": v for k, v in s.items()}), "ddp.pth", ACCEPT,
             cli=False, check=classes(1000), seconds=20),
    _weights("safetensors-ten-classes", _safetensors_state, "ten.safetensors", ACCEPT, check=classes(10), cli=False,
             seconds=20),
    _weights("torchscript-given-as-weights", lambda: S.script_bytes(S.Tiny()), "scripted.pth", REFUSE, cli=False),
]


def _shared(build):
    def shared_build(folder: Path):
        os.environ["INTERPRET_SHARED"] = "1"  # the child's own environment: shared mode for this case only
        return build(folder)

    return shared_build


def _bounded(build):
    def bounded_build(folder: Path):
        os.environ["INTERPRET_FIRST_FORWARD_SECONDS"] = FORWARD_SECONDS
        return build(folder)

    return bounded_build


def _script(id, module, expect, trust=True, check=None, mentions=("{name}",), name=None, **kw) -> Case:
    name = name or f"{id}.pt"
    return Case(id=f"models/torchscript-{id}", category=CATEGORY,
                build=_bounded(write(name, lambda: S.script_bytes(module()))), expect=expect,
                api=_script_api(trust), cli=_script_cli(trust), check=check,
                check_cli=(lambda out, err, b: check_predicted(out, err, b)) if expect != REFUSE else None,
                mentions=mentions if expect != ACCEPT else (), **kw)


SCRIPTS = [
    _script("without-consent", S.Tiny, REFUSE, trust=False, mentions=("{name}", "code"),
            why="a TorchScript file is a program: it loads only with --trust-code / trust_code=True"),
    _script("prints-without-consent", S.Prints, REFUSE, trust=False, after=_code_did_not_run, mentions=("{name}", "code")),
    _script("trusted", S.Tiny, ACCEPT, check=classes(10)),
    _script("forward-raises", S.Raises, REFUSE, why="a torch.jit.Error traceback"),
    _script("returns-nan", S.NanOutput, REFUSE),
    _script("never-returns", S.NeverReturns, REFUSE, seconds=8,
            why="the load hung forever; refused within the first-forward bound"),
    _script("30M-outputs", S.HugeOutput, REFUSE, seconds=15, why="3.2 GB and 90 s"),
    _script("two-rows-per-image", S.WrongRows, REFUSE),
    _script("one-dimensional-output", S.OneDimensional, REFUSE),
    Case("models/torchscript-shared-mode-even-trusted", CATEGORY, _shared(write("shared.pt", lambda: S.script_bytes(S.Tiny()))),
         REFUSE, api=_script_api(True), cli=_script_cli(True), mentions=("{name}", "shared")),
    Case("models/model-random-bytes", CATEGORY, write("noise.pt", lambda: os.urandom(2048)), REFUSE, api=_script_api(True),
         cli=_script_cli(True), forbid=("arbitrary Python code",)),
    Case("models/model-is-a-state-dict", CATEGORY, write("weights.pt", lambda: F.torch_save({"w": _zeros(2)})),
         REFUSE, api=_script_api(True), cli=_script_cli(False)),
    Case("models/model-empty-file", CATEGORY, write("empty.pt", lambda: b""), REFUSE, api=_script_api(False),
         cli=_script_cli(False)),
    Case("models/model-folder-named-pt", CATEGORY, special("model.pt", lambda p: p.mkdir()), REFUSE, api=_script_api(False),
         cli=_script_cli(False), forbid=("does not exist",)),
    Case("models/model-fake-torchscript-zip", CATEGORY, write("fake.pt", lambda: build_zip(
         [stored("m/constants.pkl", b"\x80\x02garbage"), stored("m/code/__torch__.py", b"def forward(:")])),
         REFUSE, api=_script_api(True), cli=_script_cli(True)),
    Case("models/spec-unknown-architecture", CATEGORY, lambda folder: {"name": "no_such_net"}, REFUSE,
         api=lambda b, env: _load("torchvision:no_such_net", weights="random"),
         cli=lambda b: ["predict", "sample:coffee", "--model", "torchvision:no_such_net", "--weights", "random"]),
    Case("models/spec-timm-path-traversal", CATEGORY, lambda folder: {"name": "../../etc/passwd"}, REFUSE,
         api=lambda b, env: _load("timm:../../etc/passwd", weights="random"),
         cli=lambda b: ["predict", "sample:coffee", "--model", "timm:../../etc/passwd", "--weights", "random"]),
    Case("models/spec-empty", CATEGORY, lambda folder: {"name": ""}, EITHER, mentions=(), check_cli=check_predicted,
         api=lambda b, env: _load(""),
         cli=lambda b: ["predict", "sample:coffee", "--model", "", "--json"]),
]

def _hf_folder(config: dict):
    """A `hf:` folder of a 1 KB config.json (no weights): what a link can point a server at."""
    def build(folder: Path):
        import json

        target = folder / "hostile-hf"
        target.mkdir()
        body = {"model_type": "vit", "architectures": ["ViTForImageClassification"], **config}
        (target / "config.json").write_text(json.dumps(body))
        return {"path": str(target), "name": "hostile-hf"}

    return build


def _hf_case(id, config, mentions, why="") -> Case:
    return Case(f"models/hf-config-{id}", CATEGORY, _hf_folder(config), REFUSE,
                api=lambda b, env: _load(f"hf:{b['path']}"),
                cli=lambda b: ["predict", "sample:coffee", "--model", f"hf:{b['path']}", "--json"],
                mentions=("{name}", *mentions), why=why)


HF_CONFIGS = [
    _hf_case("50M-labels", {"num_labels": 50_000_000}, ("MAX_CLASSES",),
             why="transformers built a 50 M-entry id2label while parsing it: past 8 GB"),
    _hf_case("19GB-tensor", {"hidden_size": 768, "intermediate_size": 400_000, "num_hidden_layers": 1},
             ("CHECKPOINT_TENSOR_BYTES",)),
    _hf_case("40G-parameters", {"hidden_size": 65_536, "intermediate_size": 65_536, "num_attention_heads": 64},
             ("MODEL_PARAMETERS",)),
    _hf_case("100k-layers", {"num_hidden_layers": 100_000}, ("MODEL_CONFIG_LAYERS",)),
    _hf_case("1M-patches", {"image_size": 1024, "patch_size": 1}, ("MODEL_CONFIG_TOKENS",)),
]


EXITS = """
import sys


def build():
    sys.exit()
"""


def _exiting_factory(at_import: bool):
    """A py: module in the folder (made the working directory, where py: imports from) whose factory, or whose
    import, calls sys.exit()."""
    def build(folder: Path):
        os.chdir(folder)
        (folder / "exits.py").write_text("import sys\nsys.exit(0)\n" if at_import else EXITS)
        return {"path": str(folder), "name": "exits"}

    return build


def _py_case(id, at_import: bool) -> Case:
    return Case(f"models/py-{id}", CATEGORY, _exiting_factory(at_import), REFUSE,
                api=lambda b, env: _load("py:exits:build", trust_code=True),
                cli=lambda b: ["predict", "sample:coffee", "--model", "py:exits:build", "--trust-code", "--json"],
                mentions=("exits", "sys.exit"), why="SystemExit passed every catch list: status 0, no output, a blank page")


def _vit_folder(change):
    """A save_pretrained folder of a tiny random ViT, then `change(folder)` (a damaged file, a config that lies)."""
    def build(folder: Path):
        import torch
        from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

        torch.manual_seed(0)
        labels = {0: "cat", 1: "dog", 2: "fox"}
        target = folder / "hostile-vit"
        ViTForImageClassification(ViTConfig(
            image_size=32, patch_size=16, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=64, id2label=labels, label2id={v: k for k, v in labels.items()})).save_pretrained(target)
        ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(target)
        change(target)
        return {"path": str(target), "name": "hostile-vit"}

    return build


def _truncated_weights(folder: Path) -> None:
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def _five_labels(folder: Path) -> None:
    import json

    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {str(i): f"c{i}" for i in range(5)}
    config["label2id"] = {f"c{i}": i for i in range(5)}
    (folder / "config.json").write_text(json.dumps(config))


def _hf_load(built, env: Env):
    return _load(f"hf:{built['path']}")


def _hf_cli(built) -> list[str]:
    return ["predict", "sample:coffee", "--model", f"hf:{built['path']}", "--json"]


def _hub_name(name: str, shared: bool = False) -> Case:
    def build(folder: Path):
        if shared:
            os.environ["INTERPRET_SHARED"] = "1"
        return {"name": name}

    return Case(f"models/hf-name-{'shared-' if shared else ''}{name.strip('/').replace('/', '-')}", CATEGORY, build, REFUSE,
                api=lambda b, env: _load(f"hf:{name}"), cli=lambda b: ["predict", "sample:coffee", "--model", f"hf:{name}"],
                mentions=("{name}",), forbid=("neither a folder",) if shared else ())


HF_FILES = [
    _py_case("factory-calls-sys-exit", at_import=False),
    _py_case("module-calls-sys-exit-on-import", at_import=True),
    Case("models/hf-safetensors-truncated", CATEGORY, _vit_folder(_truncated_weights), REFUSE, api=_hf_load, cli=_hf_cli,
         mentions=("model.safetensors",), seconds=20, why="SafetensorError: incomplete metadata"),
    Case("models/hf-config-labels-do-not-fit-weights", CATEGORY, _vit_folder(_five_labels), REFUSE, api=_hf_load,
         cli=_hf_cli, mentions=("{name}", "do not fit"), seconds=20, why="transformers: 'look at the above report'"),
    Case("models/hf-folder-in-shared-mode", CATEGORY, _shared(_vit_folder(lambda folder: None)), REFUSE, api=_hf_load,
         cli=_hf_cli, mentions=("{name}", "shared mode"), seconds=20),
    _hub_name("foo-"),
    _hub_name("a--b/c"),
    _hub_name("org/name.git"),
    _hub_name("/no/such/server/folder", shared=True),  # the same answer as for a folder that exists (the case above)
]

CASES: list[Case] = WEIGHTS + SCRIPTS + HF_CONFIGS + HF_FILES
