"""Explain PyTorch image classifiers: attribution maps, feature maps, mistakes, and how far a map can be trusted.

Public entry points (each imported from its own module, so `import interpret` stays light and pulls in no torch):
- `interpret.models.load_model(spec, weights=None)`: a `LoadedModel` (bundled, torchvision, timm or TorchScript)
- `interpret.samples.load_sample(name)`, `interpret.images.load_image(data)`: photos as `InputImage`
- `interpret.predict.top_k(lm, x, k)`: the model's top classes
- `interpret.attribution.attribute(lm, x, method, target)`: one saliency map by any registered method
- `interpret.capture.capture_layers(lm, x, names)`: feature maps of named layers
- the command line: `interpret COMMAND ...` or `python -m interpret COMMAND ...` (`interpret.cli.main`)
- the Streamlit app: `streamlit run app.py` in the source checkout (`interpret.ui` is the only Streamlit user)

The distribution is called `interpret-image-models`: PyPI's `interpret` is InterpretML, which uses the same import name.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "interpret-image-models"

try:
    __version__: str = version(DISTRIBUTION)
except PackageNotFoundError:  # a plain checkout on sys.path, not installed
    __version__ = "0+unknown"

__all__ = ["DISTRIBUTION", "__version__"]
