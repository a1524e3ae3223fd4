import io

import pytest
from PIL import Image

from civicstack.card import photos
from civicstack.card.errors import InvalidPhoto

from .conftest import jpeg_bytes


def test_a_good_photo_is_reencoded_without_metadata():
    image = Image.new("RGB", (600, 800), (10, 20, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    stored = photos.validated_photo(out.getvalue())
    with Image.open(io.BytesIO(stored.read())) as result:
        assert result.format == "JPEG"
        assert result.size == photos.OUTPUT_SIZE
        assert not result.getexif()


def test_png_is_accepted():
    photos.validated_photo(jpeg_bytes(fmt="PNG"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Attach a photo"),
        (b"not an image at all", "not a readable"),
        (jpeg_bytes()[:200], "not a readable"),
        (jpeg_bytes(fmt="GIF"), "JPEG or PNG"),
        (jpeg_bytes(200, 260), "at least 300"),
        (jpeg_bytes(800, 600), "portrait"),
    ],
)
def test_bad_photos_are_refused_with_a_reason(data, message):
    with pytest.raises(InvalidPhoto, match=message):
        photos.validated_photo(data)


def test_oversized_file_is_refused_before_decoding():
    with pytest.raises(InvalidPhoto, match="5 MB"):
        photos.validated_photo(b"\xff\xd8" + b"0" * (photos.MAX_BYTES + 1))
