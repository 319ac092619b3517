"""Checking a WeChat group QR image before it is stored."""

import hashlib
import io

import zxingcpp

from miniapp_api.i18n import _
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
        image = read_image(data, _("群二维码图片"), MAX_BYTES)
    except InvalidUpload as error:
        raise InvalidGroupQr(str(error)) from None
    image = image.convert("RGB")
    found = [b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]
    if not found:
        raise InvalidGroupQr(
            _(
                "这张图片里读不出二维码：请上传群自己的二维码（微信 → 群聊 → 群二维码），"
                "清晰、不要裁剪。"
            )
        )
    image.thumbnail((STORED_SIDE, STORED_SIDE))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    stored = out.getvalue()
    return stored, found[0].text, hashlib.sha256(stored).hexdigest()
