"""Reading an uploaded image safely: size, format and pixel limits, then fully decoded."""

import io
import warnings

from PIL import Image, UnidentifiedImageError

from miniapp_api.i18n import _

MAX_PIXELS = 4096 * 4096
ACCEPTED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF", "BMP"}


class InvalidUpload(ValueError):
    """The upload is not a usable image; the message says what to do."""


def read_image(data: bytes, what: str, max_bytes: int, shrink_to: int | None = None) -> Image.Image:
    """The decoded image, or InvalidUpload naming `what` (e.g. _("群二维码图片"), in the
    reader's words).

    `shrink_to`: the caller keeps at most this many pixels a side, so a JPEG is decoded at the
    smallest power-of-two scale still larger (Pillow's draft): a phone's 48-megapixel photo
    then costs a fraction of the memory and passes the pixel limit.
    """
    if not data:
        raise InvalidUpload(_("文件是空的：请上传%(what)s（PNG 或 JPEG）。", what=what))
    if len(data) > max_bytes:
        raise InvalidUpload(
            _(
                "文件有 %(size)s MB，上限是 %(limit)s MB：请上传小一点的%(what)s。",
                size=format(len(data) / 1024 / 1024, ".1f"),
                limit=max_bytes // 1024 // 1024,
                what=what,
            )
        )
    try:
        # A decompression bomb is refused rather than warned about.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise InvalidUpload(
                    _("不接受 %(format)s 格式的图片：请上传 PNG 或 JPEG。", format=image.format)
                )
            if shrink_to and image.format == "JPEG":
                image.draft("RGB", (shrink_to, shrink_to))
            if image.width * image.height > MAX_PIXELS:
                raise InvalidUpload(_("图片的像素太多：请上传截图。"))
            image.load()
    except InvalidUpload:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombWarning,
        # Past twice Pillow's pixel limit Image.open raises this instead of warning.
        Image.DecompressionBombError,
    ):
        raise InvalidUpload(
            _("这个文件不是能读取的图片：请把%(what)s存成 PNG 或 JPEG 再上传。", what=what)
        ) from None
    return image
