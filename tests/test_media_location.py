"""Location metadata in every container of the four formats, made by the tools people use
(Pillow, ImageMagick, exiftool): gone from what the API stores and serves, and refused by the
git gate; a container that cannot be read refuses the file. exiftool has the last word."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import GIT_ENV, cms_command
from gitcraft import run as craft_run
from gitcraft import with_files
from PIL import Image, PngImagePlugin
from test_media import git, gps_jpeg, media_path_of, picture, publish_article, upload

XMP_GPS = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'exif:GPSLatitude="52,31.2N" exif:GPSLongitude="13,24.0E">'
    b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Harbour</rdf:li></rdf:Alt></dc:title>'
    b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
GPS_ARGS = ["-GPSLatitude=52.52", "-GPSLatitudeRef=N", "-GPSLongitude=13.40", "-GPSLongitudeRef=E"]
XMP_GPS_ARGS = ["-XMP-exif:GPSLatitude=52.52 N", "-XMP-exif:GPSLongitude=13.40 E"]


def tool(*names: str) -> str:
    """The first of `names` on PATH; the tests need it (`make system-packages` installs it)."""
    for name in names:
        if shutil.which(name):
            return name
    raise AssertionError(f"{names[0]} is not installed: run make system-packages")


def exiftool(work: Path, data: bytes, ext: str, *args: str) -> bytes:
    """`data` rewritten by `exiftool ARGS` (it writes the file in place)."""
    path = work / f"exiftool-in.{ext}"
    path.write_bytes(data)
    subprocess.run(
        [tool("exiftool"), "-q", "-overwrite_original", *args, str(path)],
        check=True,
        capture_output=True,
    )
    return path.read_bytes()


def imagemagick(work: Path, data: bytes, source_ext: str, target_ext: str, *args: str) -> bytes:
    """`data` converted by ImageMagick (`convert SOURCE ARGS TARGET`)."""
    tool("identify")  # ImageMagick's own; another `convert` may be on PATH without it
    source, target = work / f"im-in.{source_ext}", work / f"im-out.{target_ext}"
    source.write_bytes(data)
    subprocess.run(
        [tool("magick", "convert"), str(source), *args, str(target)],
        check=True,
        capture_output=True,
    )
    return target.read_bytes()


def location_tags(work: Path, data: bytes, ext: str) -> dict[str, Any]:
    """Every tag exiftool reads from `data` that says where it was made."""
    path = work / f"probe.{ext}"
    path.write_bytes(data)
    out = subprocess.run(
        [tool("exiftool"), "-j", "-a", "-G1", "-s", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    tags = json.loads(out)[0]
    return {k: v for k, v in tags.items() if "gps" in k.lower() or "location" in k.lower()}


# -- the files ------------------------------------------------------------------------------


def gif_with_xmp(work: Path) -> bytes:
    """A GIF with XMP (an application extension) written by exiftool."""
    return exiftool(work, picture(120, 80, "GIF"), "gif", *XMP_GPS_ARGS)


def jpeg_with_fill_byte(work: Path) -> bytes:
    """A phone's JPEG with a 0xFF fill byte before APP1, as the JPEG standard allows."""
    data = gps_jpeg()
    at = data.index(b"\xff\xe1")
    return data[:at] + b"\xff" + data[at:]


def jpeg_by_imagemagick_and_exiftool(work: Path) -> bytes:
    """A JPEG ImageMagick made, EXIF and XMP GPS written by exiftool, and a fill byte."""
    made = imagemagick(work, picture(160, 90), "png", "jpg", "-quality", "85")
    data = exiftool(work, made, "jpg", *GPS_ARGS, *XMP_GPS_ARGS)
    at = data.index(b"\xff\xe1")
    return data[:at] + b"\xff\xff" + data[at:]


def png_with_compressed_xmp(work: Path) -> bytes:
    """A PNG whose XMP is in a compressed iTXt chunk (Pillow)."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP_GPS.decode(), zip=True)
    return picture(120, 80, "PNG", pnginfo=info)


def raw_profile(kind: str, payload: bytes) -> str:
    """ImageMagick's text form of a profile: its name, its length and its bytes in hex."""
    hexed = payload.hex()
    lines = "\n".join(hexed[i : i + 72] for i in range(0, len(hexed), 72))
    return f"\n{kind}\n{len(payload):8d}\n{lines}\n"


def located_exif(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 1.0)}
    return exif.tobytes()


def png_with_raw_exif_profile(work: Path) -> bytes:
    """A PNG with ImageMagick's "Raw profile type exif" in a zTXt chunk, turned a quarter."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", raw_profile("exif", located_exif()), zip=True)
    return picture(120, 80, "PNG", pnginfo=info)


def png_by_imagemagick_from_a_phone(work: Path) -> bytes:
    """A phone's JPEG converted to PNG by ImageMagick: eXIf, and each EXIF tag again as a tEXt
    chunk (`exif:GPSLatitude` ...)."""
    return imagemagick(work, gps_jpeg(), "jpg", "png")


def png_by_imagemagick_without_exif_chunk(work: Path) -> bytes:
    """The same without the eXIf chunk: the GPS tEXt chunks are all that is left."""
    return imagemagick(work, gps_jpeg(), "jpg", "png", "-define", "png:exclude-chunk=eXIf")


def png_by_exiftool(work: Path) -> bytes:
    return exiftool(work, picture(120, 80), "png", *GPS_ARGS, *XMP_GPS_ARGS)


def webp_by_exiftool(work: Path) -> bytes:
    return exiftool(work, picture(120, 80, "WEBP"), "webp", *GPS_ARGS, *XMP_GPS_ARGS)


def gif_by_imagemagick_with_comment(work: Path) -> bytes:
    """A GIF ImageMagick wrote with a comment naming the position, then XMP by exiftool."""
    made = imagemagick(
        work, picture(120, 80), "png", "gif", "-set", "comment", "GPSPosition 52.52 N, 13.40 E"
    )
    return exiftool(work, made, "gif", *XMP_GPS_ARGS)


LOCATED: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "gif-xmp-exiftool": (gif_with_xmp, "gif"),
    "gif-comment-imagemagick": (gif_by_imagemagick_with_comment, "gif"),
    "jpeg-fill-byte-pillow": (jpeg_with_fill_byte, "jpg"),
    "jpeg-imagemagick-exiftool": (jpeg_by_imagemagick_and_exiftool, "jpg"),
    "png-compressed-itxt-pillow": (png_with_compressed_xmp, "png"),
    "png-raw-exif-ztxt": (png_with_raw_exif_profile, "png"),
    "png-imagemagick": (png_by_imagemagick_from_a_phone, "png"),
    "png-imagemagick-text-only": (png_by_imagemagick_without_exif_chunk, "png"),
    "png-exiftool": (png_by_exiftool, "png"),
    "webp-exiftool": (webp_by_exiftool, "webp"),
}


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGBA").tobytes()


@pytest.mark.parametrize("case", list(LOCATED))
def test_an_upload_stores_and_serves_no_location(
    case, client, repo, tmp_path, author_token, editor_token
):
    make, ext = LOCATED[case]
    original = make(tmp_path)
    assert location_tags(tmp_path, original, ext), "the test file carries no location"
    response = upload(client, author_token, original, f"photo.{ext}", "image/jpeg")
    assert response.status_code == 201, response.get_json()
    stored = response.get_json()
    assert stored["path"].endswith(f".{ext}")
    kept = git(repo, "cat-file", "blob", f"main:{stored['path']}", text=False)
    assert location_tags(tmp_path, kept, ext) == {}
    assert pixels(kept) == pixels(original)  # only metadata was touched

    publish_article(client, editor_token, stored["path"])
    served = client.get(f"/{stored['path']}")
    assert served.status_code == 200
    assert served.data == kept
    assert location_tags(tmp_path, served.data, ext) == {}


def test_a_turned_png_keeps_its_orientation_without_its_location(client, tmp_path, author_token):
    stored = upload(client, author_token, png_with_raw_exif_profile(tmp_path)).get_json()
    # 120x80 turned a quarter by the EXIF in the raw profile, which is kept without GPS
    assert (stored["width"], stored["height"]) == (80, 120)


def test_the_gate_refuses_each_located_file_and_takes_the_uploads_bytes(
    client, repo, tmp_path, author_token
):
    server, work = tmp_path / "server", tmp_path / "work.git"
    made = subprocess.run(
        [cms_command(), "--repo", str(server), "init", "--no-token"], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    subprocess.run(["git", "clone", "-q", "--bare", str(server), str(work)], check=True)
    base = craft_run(work, "rev-parse", "main")
    originals = {case: (make(tmp_path), ext) for case, (make, ext) in LOCATED.items()}

    def push(commit: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "--git-dir", str(work), "push", "origin", f"{commit}:refs/heads/main"],
            capture_output=True,
            text=True,
            env={**os.environ, **GIT_ENV},
        )

    refused = push(
        with_files(work, base, {media_path_of(data, ext): data for data, ext in originals.values()})
    )
    assert refused.returncode != 0
    for case, (data, ext) in originals.items():
        assert f"{media_path_of(data, ext)}: location: It carries location" in refused.stderr, case
    assert craft_run(server, "rev-parse", "main") == base

    # what the API stored for each is what the gate takes
    cleaned = {}
    for data, ext in originals.values():
        stored = upload(client, author_token, data, f"photo.{ext}").get_json()
        cleaned[stored["path"]] = git(
            repo, "cat-file", "blob", f"main:{stored['path']}", text=False
        )
    accepted = push(with_files(work, base, cleaned))
    assert accepted.returncode == 0, accepted.stderr


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def with_chunk(png: bytes, chunk: bytes) -> bytes:
    """`png` with `chunk` put right after IHDR."""
    return png[:33] + chunk + png[33:]


UNREADABLE = {
    "xmp-ztxt-broken-zlib": lambda: with_chunk(
        picture(40, 30), png_chunk(b"zTXt", b"XML:com.adobe.xmp\x00\x00" + b"not zlib")
    ),
    "raw-xmp-profile-bad-hex": lambda: with_chunk(
        picture(40, 30), png_chunk(b"tEXt", b"Raw profile type xmp\x00\nxmp\n      40\nzz")
    ),
    "jpeg-exif-not-tiff": lambda: (
        lambda d: d[:2] + b"\xff\xe1\x00\x10Exif\x00\x00NOTTIFF!" + d[2:]
    )(picture(40, 30, "JPEG")),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_a_metadata_container_that_cannot_be_read_refuses_the_file(
    case, client, repo, author_token
):
    before = git(repo, "rev-parse", "main")
    response = upload(client, author_token, UNREADABLE[case]())
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert "metadata" in response.get_json()["errors"]["file"][0]
    assert git(repo, "rev-parse", "main") == before


def test_files_without_location_are_stored_byte_for_byte(client, repo, tmp_path, author_token):
    plain = {
        "jpg": imagemagick(tmp_path, picture(64, 48), "png", "jpg"),
        "png": exiftool(tmp_path, picture(64, 48), "png", "-XMP-dc:Title=Harbour"),
        "gif": picture(64, 48, "GIF"),
        "webp": exiftool(tmp_path, picture(64, 48, "WEBP"), "webp", "-Make=Test Camera"),
    }
    for ext, data in plain.items():
        stored = upload(client, author_token, data, f"plain.{ext}").get_json()
        assert git(repo, "cat-file", "blob", f"main:{stored['path']}", text=False) == data, ext
