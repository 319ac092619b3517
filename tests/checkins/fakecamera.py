"""A fake camera for Chromium: a still frame written as a YUV4MPEG2 clip, which Chromium plays
in a loop as the only camera when started with

    --use-fake-device-for-media-stream --use-fake-ui-for-media-stream
    --use-file-for-fake-video-capture=<path>.y4m
"""

from pathlib import Path

import qrcode
from PIL import Image


def qr_image(text: str, size: int = 480) -> Image.Image:
    """A 4:3 frame `size` pixels high (640x480 by default): the QR code of `text`, sharp,
    centred on white with its quiet zone, about two thirds of the frame's height."""
    width = size * 4 // 3 // 2 * 2
    height = size // 2 * 2
    code = qrcode.QRCode(border=4, box_size=1)
    code.add_data(text)
    code.make(fit=True)
    modules = code.make_image().get_image().convert("L")
    scale = max(1, height * 2 // 3 // modules.width)
    modules = modules.resize((modules.width * scale,) * 2, Image.Resampling.NEAREST)
    frame = Image.new("RGB", (width, height), "white")
    frame.paste(modules, ((width - modules.width) // 2, (height - modules.height) // 2))
    return frame


def write_y4m(path, image: Image.Image, seconds: float = 2, fps: int = 10) -> Path:
    """Writes `image` as `seconds` of a still 4:2:0 YUV4MPEG2 clip (C420jpeg, studio range);
    width and height must be even."""
    width, height = image.size
    if width % 2 or height % 2:
        raise ValueError(f"4:2:0 needs an even width and height, not {width}x{height}")
    luma, blue, red = image.convert("RGB").convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = [
        luma.point(lambda v: round(16 + v * 219 / 255)),
        *(
            plane.resize(half, Image.Resampling.BOX).point(
                lambda v: round(128 + (v - 128) * 224 / 255)
            )
            for plane in (blue, red)
        ),
    ]
    frame = b"FRAME\n" + b"".join(plane.tobytes() for plane in planes)
    path = Path(path)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(max(1, round(seconds * fps))):
            out.write(frame)
    return path
