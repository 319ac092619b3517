"""Reading an uploaded image safely: size, format and pixel limits, then fully decoded."""

import io
import warnings

from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 4096 * 4096
ACCEPTED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF", "BMP"}


class InvalidUpload(ValueError):
    """The upload is not a usable image; the message says what to do."""


def read_image(data: bytes, what: str, max_bytes: int, shrink_to: int | None = None) -> Image.Image:
    """The decoded image, or InvalidUpload naming `what` (e.g. "the group QR").

    `shrink_to`: the caller keeps at most this many pixels a side, so a JPEG is decoded at the
    smallest power-of-two scale still larger (Pillow's draft): a phone's 48-megapixel photo
    then costs a fraction of the memory and passes the pixel limit.
    """
    if not data:
        raise InvalidUpload(f"The file is empty: upload {what} (PNG or JPEG).")
    if len(data) > max_bytes:
        raise InvalidUpload(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is "
            f"{max_bytes // 1024 // 1024} MB. Upload a smaller picture of {what}."
        )
    try:
        # A decompression bomb is refused rather than warned about.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise InvalidUpload(
                    f"{image.format} images are not accepted: upload a PNG or JPEG."
                )
            if shrink_to and image.format == "JPEG":
                image.draft("RGB", (shrink_to, shrink_to))
            if image.width * image.height > MAX_PIXELS:
                raise InvalidUpload("The image is too large in pixels: upload a screenshot.")
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
            f"This file is not an image we can read: upload {what} as PNG or JPEG."
        ) from None
    return image
