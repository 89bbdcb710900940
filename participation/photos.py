"""Photos of contributions: JPEG or PNG up to a size limit, re-encoded with Pillow to a JPEG that
carries no metadata at all (EXIF — GPS position, camera, time — XMP, ICC, comments), turned upright
first and no larger than ``MAX_SIDE`` pixels.

Re-encoding from pixels is what strips the metadata: nothing of the uploaded file but its pixels is
written back. A file that is not a readable JPEG/PNG, or too large in bytes or pixels, is refused
with a message saying which limit it broke.
"""
from __future__ import annotations

import io

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 1600
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = {"JPEG", "PNG"}


def max_bytes() -> int:
    return int(getattr(settings, "PARTICIPATION_PHOTO_MAX_BYTES", 8 * 1024 * 1024))


def clean_photo(upload) -> bytes:
    """The upload as a metadata-free JPEG, or :class:`ValidationError` with a clear message."""
    limit = max_bytes()
    if upload.size > limit:
        raise ValidationError(_("写真が大きすぎます（%(size).1f MB）。%(limit).0f MB以下にしてください。")
                              % {"size": upload.size / 1e6, "limit": limit / 1e6})
    data = upload.read()
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            width, height = probe.size
    except (UnidentifiedImageError, OSError, ValueError):
        raise ValidationError(_("写真を読み取れませんでした。JPEGかPNGの画像を選んでください。")) from None
    if kind not in ACCEPTED_FORMATS:
        raise ValidationError(_("JPEGかPNGの画像を選んでください（%(format)s は使えません）。") % {"format": kind})
    if width * height > MAX_PIXELS:
        raise ValidationError(_("写真の画素数が多すぎます（%(pixels)d万画素）。4000万画素以下にしてください。")
                              % {"pixels": width * height // 10_000})
    try:
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)  # keep the picture upright once the EXIF is gone
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                flat = Image.new("RGB", image.size, "white")
                flat.paste(image, mask=image.getchannel("A"))
                image = flat
            else:
                image = image.convert("RGB")
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            # A fresh image from pixels: no exif=, icc_profile= or comment= is passed, so none is written.
            Image.frombytes("RGB", image.size, image.tobytes()).save(out, format="JPEG", quality=85, optimize=True)
    except (OSError, ValueError, Image.DecompressionBombError):
        raise ValidationError(_("写真を読み取れませんでした。JPEGかPNGの画像を選んでください。")) from None
    return out.getvalue()
