"""What decoding changed in an uploaded photo is said under the uploader: a float TIFF's NaN pixels are replaced
(images.py), and the sidebar says so, as the CLI does on stderr."""
from __future__ import annotations

import numpy as np

from app_support import open_app
from hostile import files as F


def test_an_upload_whose_nan_pixels_were_replaced_says_so_in_the_sidebar():
    values = F.ramp()
    values[3:5, 7:9] = np.nan
    at = open_app()
    at.sidebar.file_uploader(key="sb-uploads").set_value([("scan.tif", F.float_tiff(values), "image/tiff")]).run()
    assert not at.exception and not at.sidebar.error, [e.value for e in at.sidebar.error]
    notes = " ".join(c.value for c in at.sidebar.caption)
    assert "scan.tif" in notes and "4 pixels" in notes, notes
