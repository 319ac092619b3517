"""Checking a WeChat group QR image before it is stored."""

import hashlib
import io
import warnings

import zxingcpp
from PIL import Image, UnidentifiedImageError

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 4096 * 4096
ACCEPTED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF", "BMP"}
# Stored images are re-encoded to at most this size: enough to scan, small to serve.
STORED_SIDE = 720


class InvalidGroupQr(ValueError):
    """The upload is not a usable group QR; the message says what to do."""


def check_group_qr(data: bytes) -> tuple[bytes, str, str]:
    """Validate an uploaded group QR image.

    Returns (PNG bytes to store, the QR's decoded text, a digest of the stored bytes).
    Re-encoding drops metadata and anything hidden behind the image data.
    """
    if not data:
        raise InvalidGroupQr("The file is empty: upload the group's QR image (PNG or JPEG).")
    if len(data) > MAX_BYTES:
        raise InvalidGroupQr(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_BYTES // 1024 // 1024} MB. Upload a smaller screenshot of the group QR."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise InvalidGroupQr(
                    f"{image.format} images are not accepted: upload a PNG or JPEG."
                )
            if image.width * image.height > MAX_PIXELS:
                raise InvalidGroupQr("The image is too large in pixels: upload a screenshot.")
            image.load()
    except InvalidGroupQr:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombWarning,
    ):
        raise InvalidGroupQr(
            "This file is not an image we can read: upload the group QR as PNG or JPEG."
        ) from None

    image = image.convert("RGB")
    found = [b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]
    if not found:
        raise InvalidGroupQr(
            "No QR code could be read in this image: upload the group's own QR "
            "(WeChat → group → 群二维码), sharp and uncropped."
        )
    image.thumbnail((STORED_SIDE, STORED_SIDE))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    stored = out.getvalue()
    return stored, found[0].text, hashlib.sha256(stored).hexdigest()
