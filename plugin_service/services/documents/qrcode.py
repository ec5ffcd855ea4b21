"""QR codes for the verification URL, made locally (nothing leaves the machine to draw them).

The code is an 1-pixel-per-module PNG drawn unscaled (``image-rendering: pixelated`` in the templates):
a few hundred bytes, and far quicker for the layout engine than an SVG path. Error correction is M,
which survives the wear and a stamp's edge over a printed page. The mask pattern is fixed rather than
scored: any of the eight is valid for every reader, and scoring them costs more than laying out the rest
of a certificate's text.
"""

from __future__ import annotations

import segno

MASK = 2  # fixed, so every certificate of a batch costs the same; tests decode it from the rasterised page


def qr_png_data_uri(url: str) -> str:
    """A ``data:image/png`` URI of the QR code encoding exactly ``url`` (with its 4-module quiet zone)."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"a QR code needs a non-empty URL, got {url!r}")
    code = segno.make(url, error="m", micro=False, boost_error=False, mask=MASK)
    return str(code.png_data_uri(scale=1, border=4))
