"""Parameters and CLI values: non-finite and huge numbers for every float parameter, costs, output paths, names.

API: `attribute(bundled, coffee, method, target, params=...)` (cheap companions such as samples=1 keep a
wrongly accepted value from costing much). CLI: `explain`, `features`, `predict`, `mistakes`, `methods`.
"""
from __future__ import annotations

import os
from pathlib import Path

from .cases import ACCEPT, EITHER, REFUSE, Case, Env
from .helpers import check_predicted, no_nan_json

CATEGORY = "params"

# every float parameter, with the companions that make it matter and keep the method cheap
FLOAT_PARAMS = {
    ("smoothgrad", "noise"): {"samples": 2},
    ("smoothgrad_sq", "noise"): {"samples": 2},
    ("vargrad", "noise"): {"samples": 2},
    ("integrated_gradients", "blur"): {"steps": 2, "baseline": "blurred"},
    ("deeplift", "blur"): {"baseline": "blurred"},
    ("expected_gradients", "stdev"): {"samples": 2},
    ("expected_gradients", "blur"): {"samples": 2, "baselines": "blurred"},
    ("occlusion", "blur"): {"window": 112, "stride": 112, "fill": "blurred"},
    ("rise", "keep"): {"masks": 8},
}
BAD_FLOATS = {"nan": "nan", "inf": "inf", "minus-inf": "-inf", "1e308": "1e308", "minus-nan": "-nan"}
INT_PARAMS = {("smoothgrad", "samples"): {}, ("integrated_gradients", "steps"): {}, ("rise", "masks"): {},
              ("occlusion", "window"): {"stride": 112}}
BAD_INTS = {"nan": "nan", "inf": "inf", "5000-digits": "9" * 5000, "minus-1": "-1", "float": "2.5", "empty": ""}


def _nothing(folder: Path):
    return {"folder": str(folder), "name": ""}


def _attribute(method: str, params: dict):
    def api(built, env: Env):
        from interpret.attribution import Target, attribute

        return attribute(env.lm, env.x, method, Target(env.index), params=params)

    return api


def _explain(method: str, params: dict, *extra: str):
    def cli(built) -> list[str]:
        return ["explain", "sample:coffee", "--method", method, *[f"--param={k}={v}" for k, v in params.items()], *extra]

    return cli


def _finite_map(value, built) -> None:
    import numpy as np

    assert np.all(np.isfinite(value.values)), "the map holds NaN or Inf"


def _param_case(method, name, label, value, companions, cli=False, expect=REFUSE, check=None) -> Case:
    params = {**{k: str(v) for k, v in companions.items()}, name: value}
    return Case(id=f"params/{method}-{name}-{label}", category=CATEGORY, build=_nothing, expect=expect,
                api=_attribute(method, params), cli=_explain(method, params) if cli else None, check=check,
                mentions=(name,) if expect == REFUSE else (), seconds=20 if expect != REFUSE else 10)


FLOATS = [_param_case(m, p, label, value, extra, cli=(label == "nan"))
          for (m, p), extra in FLOAT_PARAMS.items() for label, value in BAD_FLOATS.items()]
INTS = [_param_case(m, p, label, value, extra, cli=(label == "inf" and m == "rise"))
        for (m, p), extra in INT_PARAMS.items() for label, value in BAD_INTS.items()]

ACCEPTED = [
    _param_case("smoothgrad", "noise", "minus-zero", "-0", {"samples": 2}, cli=True, expect=ACCEPT, check=_finite_map),
    _param_case("rise", "keep", "0.95", "0.95", {"masks": 8}, expect=ACCEPT, check=_finite_map),
]


def _explain_json_ok(stdout: str, stderr: str, built) -> None:
    report = no_nan_json(stdout)
    assert report["status"] == "ok", f"map status {report['status']}"


def _attribute_at(side: int, method: str):
    """`method` with its defaults on the coffee photo resized to side x side (the model takes any size)."""
    def api(built, env: Env):
        import torch.nn.functional as F

        from interpret.attribution import attribute

        return attribute(env.lm, F.interpolate(env.x, size=(side, side), mode="bilinear"), method, env.index)

    return api


def _out(folder_name: str | None, file_name: str):
    """A build step that names an output path (in a missing folder, or onto an existing folder)."""

    def build(folder: Path):
        if folder_name == "existing-folder":
            (folder / file_name).mkdir()
            target = folder / file_name
        elif folder_name is None:
            target = folder / file_name
        else:
            target = folder / folder_name / file_name
        return {"path": str(target), "name": Path(target).name, "folder": str(folder)}

    return build


def _cli_case(id, argv, expect=REFUSE, build=_nothing, mentions=(), check_cli=None, seconds=10.0, **kw) -> Case:
    return Case(id=f"params/{id}", category=CATEGORY, build=build, expect=expect, cli=argv, check_cli=check_cli,
                mentions=mentions if expect != ACCEPT else (), seconds=seconds, **kw)


def _fifo_target(file_name: str):
    def build(folder: Path):
        os.mkfifo(folder / file_name)
        return {"path": str(folder / file_name), "name": file_name, "folder": str(folder)}

    return build


def _regular_file_written(stdout: str, stderr: str, built) -> None:
    assert Path(built["path"]).is_file(), "accepted, but no regular file was written"


def _small_set(folder: Path):
    """Two labelled photos in class folders (the Mistakes layout)."""
    from .corpus_sets import good_members

    root = folder / "set"
    for member in good_members():
        (root / member.name).parent.mkdir(parents=True, exist_ok=True)
        (root / member.name).write_bytes(member.raw)
    return {"path": str(root), "name": "set", "folder": str(folder)}


def _two_evaluated(stdout: str, stderr: str, built) -> None:
    report = no_nan_json(stdout)
    assert report["images"] == 2, f"{report['images']} images evaluated, expected 2"


def _nothing_written(built, result) -> None:
    path = Path(built["path"])
    assert not (path.exists() and path.is_file()), f"{path} was written although the command was refused"


EXPLAIN = ["explain", "sample:coffee", "--method", "gradcam"]
FEATURES = ["features", "sample:coffee", "--layer", "conv_stem"]
NON_UTF8 = "results-\udcff\udcfe.csv"  # the bytes ff fe in a file name, as Python's os functions see them

CLI = [
    _cli_case("occlusion-window-2-stride-1", lambda b: ["explain", "sample:coffee", "--method", "occlusion",
                                                        "--param", "window=2", "--param", "stride=1"],
              mentions=("pass",), why="50 000 forward passes inside the documented ranges"),
    _cli_case("rise-20000-masks", lambda b: ["explain", "sample:coffee", "--method", "rise", "--param", "masks=20000"],
              mentions=("pass",)),
    Case("params/occlusion-window-2-stride-1-api", CATEGORY, _nothing, REFUSE,
         api=_attribute("occlusion", {"window": 2, "stride": 1}), mentions=("pass",)),
    Case("params/rise-20000-masks-api", CATEGORY, _nothing, REFUSE, api=_attribute("rise", {"masks": 20000}),
         mentions=("pass",)),
    # at 640 px: the model's own first pass at 1024 px (a batch of 2) alone grows memory past the cases' bound
    _cli_case("occlusion-default-at-640-px", lambda b: ["explain", "sample:coffee", "--method", "occlusion", "--resize",
                                                        "640", "--crop", "640"], mentions=("MASKED_PIXELS", "stride"),
              seconds=20, why="at 1024 px 3 970 passes (under MAX_PASSES) of 1 MP each: past 600 s and 3.2 GB"),
    _cli_case("rise-default-at-640-px", lambda b: ["explain", "sample:coffee", "--method", "rise", "--resize", "640",
                                                   "--crop", "640"], mentions=("MASKED_PIXELS", "masks"), seconds=20),
    Case("params/occlusion-default-at-1024-px-api", CATEGORY, _nothing, REFUSE, api=_attribute_at(1024, "occlusion"),
         mentions=("MASKED_PIXELS",)),
    _cli_case("alpha-nan", lambda b: [*EXPLAIN, "--alpha", "nan"], mentions=("alpha",)),
    _cli_case("alpha-inf", lambda b: [*EXPLAIN, "--alpha", "inf"], mentions=("alpha",)),
    _cli_case("alpha-minus-1", lambda b: [*EXPLAIN, "--alpha", "-1"], mentions=("alpha",)),
    _cli_case("alpha-2", lambda b: [*EXPLAIN, "--alpha", "2"], mentions=("alpha",)),
    _cli_case("cmap-unknown", lambda b: [*EXPLAIN, "--cmap", "no_such_cmap", "--out", str(Path(b["folder"]) / "o.png")],
              mentions=("no_such_cmap",)),
    _cli_case("cmap-empty", lambda b: [*EXPLAIN, "--cmap", "", "--out", str(Path(b["folder"]) / "o.png")]),
    _cli_case("predict-top-minus-1", lambda b: ["predict", "sample:coffee", "--top", "-1"], mentions=("--top",)),
    _cli_case("predict-top-0", lambda b: ["predict", "sample:coffee", "--top", "0"], mentions=("--top",)),
    _cli_case("predict-top-1e9", lambda b: ["predict", "sample:coffee", "--top", str(10**9), "--json"], EITHER,
              check_cli=lambda out, err, b: check_predicted(out, err, b, rows=1000)),
    _cli_case("features-top-1e9", lambda b: [*FEATURES, "--top", str(10**9), "--json"], EITHER,
              check_cli=lambda out, err, b: None),
    _cli_case("explain-out-missing-folder", lambda b: [*EXPLAIN, "--out", b["path"]], build=_out("missing", "map.png"),
              mentions=("{name}",), why="FileNotFoundError traceback after the map was computed"),
    _cli_case("explain-out-onto-folder", lambda b: [*EXPLAIN, "--out", b["path"]], build=_out("existing-folder", "map.png"),
              mentions=("{name}",)),
    _cli_case("explain-npy-onto-folder", lambda b: [*EXPLAIN, "--npy", b["path"]], build=_out("existing-folder", "map.npy"),
              mentions=("{name}",)),
    _cli_case("explain-npy-missing-folder", lambda b: [*EXPLAIN, "--npy", b["path"]], build=_out("missing", "map.npy"),
              mentions=("{name}",)),
    _cli_case("explain-npy-without-suffix", lambda b: [*EXPLAIN, "--npy", b["path"]], build=_out(None, "map"),
              mentions=("{name}", ".npy"), after=_nothing_written, why="np.save wrote map.npy, not the name given"),
    _cli_case("explain-out-onto-fifo", lambda b: [*EXPLAIN, "--out", b["path"]], build=_fifo_target("map.png"),
              expect=EITHER, check_cli=_regular_file_written, why="opening a FIFO for writing blocks until a reader comes"),
    _cli_case("features-out-onto-folder", lambda b: [*FEATURES, "--out", b["path"]], build=_out("existing-folder", "m.png"),
              mentions=("{name}",)),
    _cli_case("features-npy-missing-folder", lambda b: [*FEATURES, "--npy", b["path"]], build=_out("missing", "a.npy"),
              mentions=("{name}",)),
    _cli_case("features-vis-out-missing-folder", lambda b: [*FEATURES, "--visualize", "0", "--steps", "1", "--vis-out",
                                                           b["path"]], build=_out("missing", "v.png"), mentions=("{name}",)),
    _cli_case("mistakes-csv-onto-folder", lambda b: ["mistakes", "demo", "--csv", b["path"]],
              build=_out("existing-folder", "r.csv"), mentions=("{name}",), seconds=30),
    _cli_case("mistakes-csv-missing-folder", lambda b: ["mistakes", "demo", "--csv", b["path"]],
              build=_out("missing", "r.csv"), mentions=("{name}",), after=_nothing_written),
    _cli_case("mistakes-csv-non-utf8-name", lambda b: ["mistakes", "demo", "--csv", b["path"]],
              build=_out(None, NON_UTF8), expect=EITHER, mentions=(), seconds=30),
    _cli_case("methods-json-closed-pipe", lambda b: ["methods", "--json"], EITHER, stdout="closed-pipe",
              why="BrokenPipeError traceback under `| head`"),
    _cli_case("predict-json-closed-pipe", lambda b: ["predict", "sample:coffee", "--json"], EITHER, stdout="closed-pipe"),
    _cli_case("mean-1e308", lambda b: ["predict", "sample:coffee", "--mean", "1e308"], mentions=("mean", "NORMALISED_PIXEL_MAX"),
              why="finite in Python, inf in float32: every score NaN, printed as 'nan% tench (0)' with status 0"),
    _cli_case("std-1e-300", lambda b: ["predict", "sample:coffee", "--std", "1e-300"], mentions=("std", "NORMALISED_PIXEL_MAX"),
              why="0 in float32: the input divided by zero, every score NaN with status 0"),
    Case("params/mean-1e308-api", CATEGORY, _nothing, REFUSE, mentions=("mean",),
         api=lambda b, env: env.lm.preprocessing.replace(mean=(1e308, 1e308, 1e308))),
    _cli_case("layer-unknown", lambda b: ["features", "sample:coffee", "--layer", "no.such.layer"], mentions=("no.such.layer",)),
    _cli_case("layer-dot-dot", lambda b: ["features", "sample:coffee", "--layer", ".."], mentions=("..",)),
    _cli_case("layer-path-traversal", lambda b: ["features", "sample:coffee", "--layer", "../../etc/passwd"],
              mentions=("passwd",)),
    _cli_case("layer-empty", lambda b: ["features", "sample:coffee", "--layer", ""]),
    _cli_case("cam-layer-unknown", lambda b: [*EXPLAIN, "--layer", "blocks.99"], mentions=("blocks.99",)),
    _cli_case("target-out-of-range", lambda b: [*EXPLAIN, "--target", "1000"], mentions=("1000",)),
    _cli_case("target-negative", lambda b: [*EXPLAIN, "--target", "-1"], mentions=("-1",)),
    _cli_case("target-nan", lambda b: [*EXPLAIN, "--target", "nan"], mentions=("nan",)),
    _cli_case("target-unknown-name", lambda b: [*EXPLAIN, "--target", "no such class"], mentions=("no such class",)),
    _cli_case("device-cuda-99", lambda b: [*EXPLAIN, "--device", "cuda:99"], mentions=("cuda",)),
    _cli_case("device-nonsense", lambda b: [*EXPLAIN, "--device", "../gpu"], mentions=("../gpu",)),
    _cli_case("method-unknown", lambda b: ["explain", "sample:coffee", "--method", "no_such"], mentions=("no_such",)),
    _cli_case("param-unknown", lambda b: [*EXPLAIN, "--param", "bogus=1"], mentions=("bogus",)),
    _cli_case("param-no-equals", lambda b: ["explain", "sample:coffee", "--method", "smoothgrad", "--param", "noise"],
              mentions=("noise",)),
    _cli_case("param-repeated-last-nan", lambda b: ["explain", "sample:coffee", "--method", "smoothgrad", "--param",
                                                     "noise=0.1", "--param", "noise=nan"], mentions=("noise",)),
    _cli_case("visualize-negative-channel", lambda b: [*FEATURES, "--visualize", "-1", "--vis-out",
                                                      str(Path(b["folder"]) / "v.png")]),
    _cli_case("visualize-channel-past-end", lambda b: [*FEATURES, "--visualize", "100000", "--vis-out",
                                                      str(Path(b["folder"]) / "v.png")], mentions=("100000",)),
    _cli_case("visualize-steps-1e9", lambda b: [*FEATURES, "--visualize", "0", "--steps", str(10**9), "--vis-out",
                                               str(Path(b["folder"]) / "v.png")], mentions=("steps",),
              why="a billion optimisation steps: cost, not range"),
    _cli_case("batch-size-0", lambda b: ["mistakes", "demo", "--batch-size", "0"], mentions=("--batch-size",)),
    _cli_case("batch-size-1e9", lambda b: ["mistakes", b["path"], "--batch-size", str(10**9), "--json"], EITHER,
              build=_small_set, check_cli=_two_evaluated, seconds=20, why="a batch size must not be preallocated"),
    _cli_case("explain-gradient-accepted", lambda b: ["explain", "sample:coffee", "--json"], ACCEPT,
              check_cli=_explain_json_ok, seconds=20),
]

CASES: list[Case] = FLOATS + INTS + ACCEPTED + CLI
