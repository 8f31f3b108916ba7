"""Opening the app in AppTest the way every page test does: the whole app, one page switched to."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")  # AppTest needs an absolute path


def open_app(page: str | None = None, timeout: int = 180) -> AppTest:
    """The app run once on its start page (sidebar, default model, sample photo), then on `page` if given."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


def open_app_on_torchscript(page: str, data: bytes, name: str = "model.pt", timeout: int = 300) -> AppTest:
    """The app on a TorchScript file uploaded in the sidebar and trusted (local mode), then on `page`."""
    from interpret.policy import CONSENT_LABEL

    at = open_app(timeout=timeout)
    at.sidebar.selectbox(key="sb-source").set_value("file").run()
    at.sidebar.file_uploader(key="sb-model-file").set_value((name, data, "application/octet-stream")).run()
    next(box for box in at.sidebar.checkbox if box.label == CONSENT_LABEL).check().run()
    at.switch_page(page).run()
    return at


def small_torchscript(classes: int = 3) -> bytes:
    """A scripted ReLU network (one convolution, a linear head), seeded: a user's TorchScript file in miniature."""
    import io

    import torch

    class Small(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.relu = torch.nn.Conv2d(3, 4, 3, stride=4), torch.nn.ReLU()
            self.head = torch.nn.Linear(4, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.relu(self.conv(x)).mean((2, 3)))

    torch.manual_seed(0)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(Small().eval()), buffer)
    return buffer.getvalue()


def settle(at: AppTest, timeout: float = 180.0) -> AppTest:
    """Rerun a live page (maps as background jobs) until none of its jobs is still running, as the browser's
    refresh timer would; AppTest itself runs no fragment timers."""
    import time

    deadline = time.monotonic() + timeout
    while (at.get("progress") or any("in the background" in c.value for c in at.caption)) \
            and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    return at
