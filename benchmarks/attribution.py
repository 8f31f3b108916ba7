"""Attribution speed next to Captum / pytorch-grad-cam / torchcam / zennit, and next to the floor, in one process.

    python benchmarks/attribution.py [--models resnet18,resnet50] [--quick] [--methods gradient,gradcam]

torchvision ResNets with random weights, one 224 px image, CPU. Per method: our median time, the
fastest peer's median, their ratio, and our time over the floor = (one forward + backward to the
input, measured here) x the passes the method needs. Forward-only methods (Occlusion, RISE,
Score-CAM) and CAMs (backward to a layer only) can be below 1 x floor. Ratios are medians of
per-round ratios (calls are interleaved round by round), so they hold up on a loaded machine. LRP's rows also print
how far our map is from zennit's (the same composite and canonizers: 0 expected; target ours / zennit <= 1.0).
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from benchmarks.peer_calls import noise_tunnel, pgc_cam, seconds, torchcam_cam, trainable_copy  # noqa: E402
from interpret.attribution import REGISTRY, attribute  # noqa: E402
from interpret.attribution.base import Context  # noqa: E402
from interpret.attribution.deeplift import split_copy  # noqa: E402
from interpret.attribution.lrp import canonical  # noqa: E402
from interpret.attribution.requirements import applicable  # noqa: E402
from interpret.attribution.target import Target  # noqa: E402
from interpret.models import load_model  # noqa: E402

TARGET = 3


def median_times(fns: dict[str, callable], repeats: int) -> tuple[dict[str, float], list[dict[str, float]]]:
    """Median seconds of each call and the per-round times. Rounds are interleaved, so load from other
    processes hits all calls of a round alike (compare calls round by round); one warm-up round;
    when a call takes over 3 s, the warm-up round counts and one more round runs in reverse order
    (so that whoever ran first, on a cold allocator, is not the only one paying for it)."""
    first = {name: seconds(fn) for name, fn in fns.items()}
    if max(first.values()) > 3:
        rounds = [first, {name: seconds(fns[name]) for name in reversed(list(fns))}]
    else:
        rounds = [{name: seconds(fn) for name, fn in fns.items()} for _ in range(repeats)]
    return {name: statistics.median(r[name] for r in rounds) for name in fns}, rounds


def paired_ratio(rounds: list[dict[str, float]], a: str, b: str) -> float:
    """The median over rounds of time(a) / time(b): robust to load that changes between rounds."""
    return statistics.median(r[a] / r[b] for r in rounds)


def ours_params(method: str, quick: bool) -> dict:
    return {"rise": {"masks": 256 if quick else 1000}}.get(method, {})


def peers(lm, x: torch.Tensor, quick: bool) -> dict[str, dict[str, callable]]:
    """method -> {peer name: a call that computes the same map}."""
    from captum.attr import (
        Deconvolution,
        DeepLift,
        GradientShap,
        GuidedBackprop,
        GuidedGradCam,
        InputXGradient,
        IntegratedGradients,
        LayerGradCam,
        Occlusion,
        Saliency,
    )

    frozen = lm.model
    trainable = trainable_copy(lm.model)
    black = lm.preprocessing.zero_pixel().expand_as(x).clone()
    noise = torch.rand(8, *x.shape[1:], generator=torch.Generator().manual_seed(0))
    size = x.shape[-2:]

    def captum_gradcam():
        cam = LayerGradCam(frozen, frozen.layer4).attribute(x.clone().requires_grad_(), target=TARGET, relu_attributions=True)
        return F.interpolate(cam, size=size, mode="bilinear", align_corners=False)

    def pgc_call(name, layer="layer4"):
        return pgc_cam(name, trainable, x, layer, TARGET)

    def torchcam_call(name):
        return torchcam_cam(name, frozen, x, "layer4", TARGET)

    def tunnel(kind):
        return noise_tunnel(kind, frozen, x, TARGET, 16)

    ctx = Context(lm, x, Target(TARGET))
    split = split_copy(ctx)
    result = {
        "gradient": {"Captum Saliency": lambda: Saliency(frozen).attribute(x.clone(), target=TARGET, abs=False)},
        "grad_x_input": {"Captum InputXGradient": lambda: InputXGradient(frozen).attribute(x.clone(), target=TARGET)},
        "smoothgrad": {"Captum NoiseTunnel": tunnel("smoothgrad")},
        "smoothgrad_sq": {"Captum NoiseTunnel": tunnel("smoothgrad_sq")},
        "vargrad": {"Captum NoiseTunnel": tunnel("vargrad")},
        "integrated_gradients": {"Captum IG (batch 8)": lambda: IntegratedGradients(frozen).attribute(
            x.clone(), baselines=black, target=TARGET, n_steps=32, internal_batch_size=8)},
        "expected_gradients": {"Captum GradientShap": lambda: GradientShap(frozen).attribute(
            x.clone(), baselines=noise, target=TARGET, n_samples=32)},
        "guided_backprop": {"Captum": lambda: GuidedBackprop(frozen).attribute(x.clone(), target=TARGET)},
        "deconvolution": {"Captum": lambda: Deconvolution(frozen).attribute(x.clone(), target=TARGET)},
        "deeplift": {"Captum (fails on the model; on the split copy)": lambda: DeepLift(split.model).attribute(
            x.clone(), baselines=black, target=TARGET)},
        "gradcam": {"Captum LayerGradCam": captum_gradcam, "pytorch-grad-cam": pgc_call("GradCAM"),
                    "torchcam": torchcam_call("GradCAM")},
        "gradcam_pp": {"pytorch-grad-cam": pgc_call("GradCAMPlusPlus"), "torchcam": torchcam_call("GradCAMpp")},
        "xgradcam": {"pytorch-grad-cam": pgc_call("XGradCAM"), "torchcam": torchcam_call("XGradCAM")},
        "layercam": {"pytorch-grad-cam": pgc_call("LayerCAM"), "torchcam": torchcam_call("LayerCAM")},
        "hirescam": {"pytorch-grad-cam": pgc_call("HiResCAM")},
        "guided_gradcam": {"Captum GuidedGradCam": lambda: GuidedGradCam(frozen, frozen.layer4).attribute(
            x.clone(), target=TARGET, interpolate_mode="bilinear")},
        "eigencam": {"pytorch-grad-cam": pgc_call("EigenCAM")},
        "scorecam": {"torchcam": torchcam_call("ScoreCAM")} if quick else
                    {"pytorch-grad-cam": pgc_call("ScoreCAM"), "torchcam": torchcam_call("ScoreCAM")},
        "occlusion": {"Captum (32 per eval)": lambda: Occlusion(frozen).attribute(
            x.clone(), sliding_window_shapes=(3, 32, 32), strides=(3, 16, 16), baselines=0, target=TARGET,
            perturbations_per_eval=32)},
        **zennit_calls(lm, x),
    }
    return result


def zennit_calls(lm, x: torch.Tensor) -> dict[str, dict[str, callable]]:
    """zennit as its documentation calls it (composite with its canonizers, Gradient attributor, one-hot x logits as
    the output relevance), on a copy of the model (its canonizers change the model until the call ends)."""
    from zennit.attribution import Gradient
    from zennit.composites import EpsilonGammaBox, EpsilonPlusFlat
    from zennit.torchvision import ResNetCanonizer

    for method in ("lrp_epsilon_plus_flat", "lrp_epsilon_gamma_box"):
        applicable(lm, method)  # ours checks the model once and builds its canonized copy once (as split_copy above)
    canonical(lm)
    model = copy.deepcopy(lm.model)
    low, high = lm.preprocessing.standardise(torch.zeros(1, 3, 1, 1)), lm.preprocessing.standardise(torch.ones(1, 3, 1, 1))

    def call(make):
        def run():
            with Gradient(model, make()) as attributor:
                return attributor(x.clone(), lambda out: F.one_hot(torch.tensor([TARGET]), out.shape[1]) * out)[1]

        return run

    return {
        "lrp_epsilon_plus_flat": {"zennit": call(lambda: EpsilonPlusFlat(canonizers=[ResNetCanonizer()]))},
        "lrp_epsilon_gamma_box": {"zennit": call(lambda: EpsilonGammaBox(low=low, high=high,
                                                                         canonizers=[ResNetCanonizer()]))},
    }


def same_map(lm, x: torch.Tensor, method: str, peer: callable) -> str:
    """The largest difference of our map from the peer's, relative to the peer's largest value (LRP: the same map)."""
    ours = torch.from_numpy(attribute(lm, x, method, TARGET).values)
    theirs = peer().detach()[0].sum(0)
    return f"{float((ours - theirs).abs().max() / theirs.abs().max()):.1e}"


def passes(lm, method: str, params: dict) -> int:
    if method == "scorecam":
        last = lm.model.layer4[-1]
        return last.conv3.out_channels if hasattr(last, "conv3") else last.conv1.in_channels
    impl = REGISTRY[method]
    return impl.passes(**impl.resolve_params(params))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet18,resnet50")
    parser.add_argument("--methods", default=",".join(REGISTRY))
    parser.add_argument("--quick", action="store_true", help="2 repeats, fewer RISE masks, one Score-CAM peer")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = args.repeats or (2 if args.quick else 5)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.size} px, repeats {repeats}")
    for name in args.models.split(","):
        lm = load_model(f"torchvision:{name}", weights="random")
        x = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))

        def forward_backward(lm=lm, x=x):
            xx = x.clone().requires_grad_()
            torch.autograd.grad(lm.model(xx)[:, TARGET].sum(), xx)

        floor = median_times({"floor": forward_backward}, max(repeats, 5))[0]["floor"]
        print(f"\n## {name}: forward + backward to the input = {floor * 1000:.0f} ms (re-measured with each method)\n")
        print("| method | ours (s) | fastest peer (s) | peer | ours / peer | passes | ours / floor |")
        print("|---|---|---|---|---|---|---|")
        table = peers(lm, x, args.quick)
        for method in args.methods.split(","):
            params = ours_params(method, args.quick)
            layer = "layer4" if REGISTRY[method].uses_layer else None
            calls = {"ours": lambda lm=lm, x=x, method=method, layer=layer, params=params:
                     attribute(lm, x, method, TARGET, layer=layer, params=params),
                     "floor": forward_backward, **table.get(method, {})}
            measured, rounds = median_times(calls, repeats)
            ours = measured.pop("ours")
            measured.pop("floor")
            n = passes(lm, method, params)
            floor_ratio = paired_ratio(rounds, "ours", "floor") / n
            if measured:
                best = min(measured, key=measured.get)
                peer_text = f"{measured[best]:.3f} | {best} | {paired_ratio(rounds, 'ours', best):.2f}"
            else:
                peer_text = "– | none | –"
            print(f"| {method} | {ours:.3f} | {peer_text} | {n} | {floor_ratio:.2f} |", flush=True)
            if method.startswith("lrp_"):
                print(f"|  (max relative difference from zennit's map: {same_map(lm, x, method, table[method]['zennit'])}) |",
                      flush=True)


if __name__ == "__main__":
    main()
