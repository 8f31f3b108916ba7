"""The one progress-and-cancel protocol as the slow computations use it: fractions up to 1, cancel by
raising Cancelled from the callback, and a tqdm bar in the CLI only when asked for (or on a terminal)."""
import json

import pytest

from interpret.attribution import Target, attribute
from interpret.cli import main
from interpret.progress import Cancelled
from test_shared_model import untouched

RANDOM_RESNET = ("--model", "torchvision:resnet18", "--weights", "random")


def test_a_batched_method_reports_rising_fractions_that_end_at_one(resnet18, coffee):
    x = resnet18.preprocessing.to_tensor(coffee.image)
    seen = []
    attribute(resnet18, x, "smoothgrad", Target(1), params={"samples": 24}, progress=seen.append)
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 1.0 and 0 < seen[0] < 1


@pytest.mark.parametrize("method, params", [("occlusion", {"window": 56, "stride": 28}), ("scorecam", {"channels": 64})])
def test_raising_cancelled_from_the_callback_stops_the_method_and_leaves_the_model_clean(resnet18, coffee, method, params):
    x = resnet18.preprocessing.to_tensor(coffee.image)
    seen = []

    def stop_at_the_first_report(fraction):
        seen.append(fraction)
        raise Cancelled()

    with pytest.raises(Cancelled, match="Stopped"):
        attribute(resnet18, x, method, Target(1), params=params, progress=stop_at_the_first_report)
    assert len(seen) == 1 and seen[0] < 1.0  # nothing ran after the cancelling call
    assert untouched(resnet18)


def test_explain_draws_a_bar_on_stderr_only_when_asked(capsys):
    args = ("explain", "sample:coffee", "--method", "smoothgrad", "--param", "samples=16", "--json", *RANDOM_RESNET)
    assert main([*args, "--progress"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["method"] == "smoothgrad"
    assert "SmoothGrad" in captured.err and "100%" in captured.err
    assert main(list(args)) == 0  # stderr is not a terminal here: no bar
    captured = capsys.readouterr()
    assert captured.err == "" and json.loads(captured.out)["status"] == "ok"


def test_features_visualises_a_channel_with_a_bar_and_writes_the_image(capsys, tmp_path):
    png = tmp_path / "vis.png"
    code = main(["features", "sample:coffee", "--layer", "layer1.0", "--top", "1", "--visualize", "5",
                 "--vis-out", str(png), "--steps", "4", "--json", "--progress", *RANDOM_RESNET])
    captured = capsys.readouterr()
    assert code == 0 and "Visualising channel 5" in captured.err and "100%" in captured.err
    vis = json.loads(captured.out)["visualization"]
    assert vis["channel"] == 5 and vis["steps"] == 4 and png.stat().st_size > 1000


def test_features_visualisation_needs_its_output_file(capsys):
    code = main(["features", "sample:coffee", "--layer", "layer1.0", "--visualize", "5", *RANDOM_RESNET])
    assert code == 2 and "--visualize CHANNEL and --vis-out FILE.png go together" in capsys.readouterr().err
