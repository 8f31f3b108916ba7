"""The issue's "done when" (issue 24): a grid of four photos by five methods made into one report. Measures, from maps
already computed (as a click on the page finds them), the time to write the HTML report and the zip (maps at the
model's 224 px and at 896 px) and the files' sizes. The maps' own computation is not timed: it is the page's.

Run: python benchmarks/report.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

PHOTOS = ["sample:coffee", "sample:chelsea", "sample:astronaut", "sample:rocket"]
METHODS = ["gradient", "grad_x_input", "guided_backprop", "gradcam", "eigencam"]


def timed(work, repeats: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return median(times), result


def main() -> None:
    from interpret.cli import build_parser
    from interpret.cli.common import model_from_args, read_image
    from interpret.cli.explain import attributions
    from interpret.cli.report import build_report, display
    from interpret.report import render_html, render_zip

    args = build_parser().parse_args(["report", *PHOTOS, "--methods", ",".join(METHODS), "--out", "x.html"])
    lm = model_from_args(args)
    images = [read_image(text) for text in PHOTOS]
    maps = {m: attributions(lm, images, m, {}, None, "logit", None, None, False) for m in METHODS}
    settings = display(args)
    build, report = timed(lambda: build_report(args, lm, images, METHODS, {m: {} for m in METHODS}, maps, settings))
    html_seconds, page = timed(lambda: render_html(report))
    zip_seconds, archive = timed(lambda: render_zip(report))
    args.size = 896
    big_report = build_report(args, lm, images, METHODS, {m: {} for m in METHODS}, maps, settings)
    big_seconds, big = timed(lambda: render_zip(big_report, 896), repeats=1)
    print(f"{len(images)} photos x {len(METHODS)} methods = {len(report.maps)} maps, on {lm.spec}")
    print(f"report parts (photos, predictions, scales): {build:.2f} s")
    print(f"HTML report:   {html_seconds:.2f} s, {len(page.encode()) / 2**20:.1f} MB")
    print(f"zip, 224 px:   {zip_seconds:.2f} s, {len(archive) / 2**20:.1f} MB")
    print(f"zip, 896 px:   {big_seconds:.2f} s, {len(big) / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
