"""Card photos: checked the way a print shop would (a real JPEG or PNG, portrait, large enough
to print at 300 dpi), then re-encoded as JPEG so nothing but pixels is kept (no EXIF location)."""

import io

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InvalidPhoto

MAX_BYTES = 5 * 1024 * 1024
MIN_WIDTH, MIN_HEIGHT = 300, 400  # a 2-inch ID photo (35 x 45 mm) is 413 x 531 at 300 dpi
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
ACCEPTED_FORMATS = {"JPEG", "PNG"}
OUTPUT_SIZE = (413, 531)


def validated_photo(data: bytes, *, filename: str = "photo") -> ContentFile:
    if not data:
        raise InvalidPhoto(_("Attach a photo."), details={"field": "photo"})
    if len(data) > MAX_BYTES:
        raise InvalidPhoto(
            _("The photo is %(size)s MB; the limit is 5 MB.") % {"size": round(len(data) / 1048576, 1)},
            details={"field": "photo", "max_bytes": MAX_BYTES},
        )  # fmt: skip
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidPhoto(_("The photo has too many pixels."), details={"field": "photo"})
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidPhoto(
            _("The file is not a readable JPEG or PNG image."), details={"field": "photo"}
        ) from exc
    if image_format not in ACCEPTED_FORMATS:
        raise InvalidPhoto(
            _("Photos must be JPEG or PNG, not %(format)s.") % {"format": image_format},
            details={"field": "photo", "format": image_format},
        )  # fmt: skip
    image = ImageOps.exif_transpose(image)  # phones store portraits as rotated landscapes
    if image.width < MIN_WIDTH or image.height < MIN_HEIGHT:
        raise InvalidPhoto(
            _("The photo is %(w)s × %(h)s pixels; it must be at least %(min_w)s × %(min_h)s.")
            % {"w": image.width, "h": image.height, "min_w": MIN_WIDTH, "min_h": MIN_HEIGHT},
            details={"field": "photo", "width": image.width, "height": image.height},
        )  # fmt: skip
    if image.width >= image.height:
        raise InvalidPhoto(_("Use a portrait (upright) photo of your face."), details={"field": "photo"})
    fitted = ImageOps.fit(image.convert("RGB"), OUTPUT_SIZE)
    out = io.BytesIO()
    fitted.save(out, format="JPEG", quality=90)
    return ContentFile(out.getvalue(), name="photo.jpg")
