"""Checking a WeChat group QR image before it is stored."""

import hashlib
import io

import zxingcpp

from miniapp_api.uploads import InvalidUpload, read_image

MAX_BYTES = 2 * 1024 * 1024
# Stored images are re-encoded to at most this size: enough to scan, small to serve.
STORED_SIDE = 720


class InvalidGroupQr(ValueError):
    """The upload is not a usable group QR; the message says what to do."""


def check_group_qr(data: bytes) -> tuple[bytes, str, str]:
    """Validate an uploaded group QR image.

    Returns (PNG bytes to store, the QR's decoded text, a digest of the stored bytes).
    Re-encoding drops metadata and anything hidden behind the image data.
    """
    try:
        image = read_image(data, "the group QR", MAX_BYTES)
    except InvalidUpload as error:
        raise InvalidGroupQr(str(error)) from None
    image = image.convert("RGB")
    found = [b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]
    if not found:
        # 群二维码 is WeChat's own menu item, as WeChat shows it.
        raise InvalidGroupQr(
            "No QR code could be read in this image: upload the group's own QR "  # i18n: content
            "(WeChat → group → 群二维码), sharp and uncropped."
        )
    image.thumbnail((STORED_SIDE, STORED_SIDE))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    stored = out.getvalue()
    return stored, found[0].text, hashlib.sha256(stored).hexdigest()
