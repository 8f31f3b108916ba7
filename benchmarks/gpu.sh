#!/usr/bin/env bash
# The ratio benchmarks of issue 14 on a CUDA device, and the GPU tests, in one short run:
#   bash benchmarks/gpu.sh [cuda:0]
# Without a GPU it says so and exits 0 (the project builds and passes its tests without one).
set -uo pipefail
cd "$(dirname "$0")/.."
device="${1:-cuda}"
if ! python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "no CUDA device on this machine: nothing to run"
    exit 0
fi
python -c "import torch; p = torch.cuda.get_device_properties(0); print(f'{p.name}, {p.total_memory / 2**30:.0f} GiB')"
status=0
python -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_scorecam_fast.py tests/test_perturbation_batches.py \
    || status=1
python benchmarks/comparison.py --device "$device" || status=1
python benchmarks/scorecam.py --device "$device" --photos astronaut,rocket,coffee,chelsea || status=1
python benchmarks/batched.py --device "$device" || status=1
python benchmarks/batched.py --device "$device" --model torchvision:resnet50 || status=1
exit $status
