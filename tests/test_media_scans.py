"""The decode cost a small file can ask for: a progressive JPEG whose last scan is repeated
hundreds of times is refused by the segment walker, before Pillow decodes a pixel, by the API,
the gate and the renditions; the same bytes uploaded again are not decoded again."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess

import pytest
from conftest import GIT_ENV, cms_command
from gitcraft import run as craft_run
from gitcraft import with_files
from PIL import Image, ImageFile
from test_media import UPLOAD, git, media_path_of, picture, plant, upload

from cms.errors import ValidationFailed
from cms.media import jpeg
from cms.media.renditions import render


def progressive(width: int = 640, height: int = 480) -> bytes:
    image = Image.new("RGB", (width, height), (30, 90, 160))
    image.paste((240, 200, 40), (width // 2, 0, width, height))
    out = io.BytesIO()
    image.save(out, "JPEG", progressive=True, quality=80)
    return out.getvalue()


def repeated_scans(times: int = 400) -> bytes:
    """A progressive JPEG with its last scan (a refinement, a few dozen bytes) repeated: each
    copy makes a decoder walk every block of the picture once more."""
    data = progressive()
    last = [m.start() for m in re.finditer(rb"\xff\xda", data)][-1]
    assert data.endswith(b"\xff\xd9")
    return data[:-2] + data[last:-2] * times + b"\xff\xd9"


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The formats of the images Pillow decodes from now on, in this process."""
    seen: list[str] = []
    load = ImageFile.ImageFile.load

    def counted(self: ImageFile.ImageFile) -> object:
        seen.append(self.format or "")
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counted)
    return seen


def test_a_repeated_scan_jpeg_is_refused_before_decoding(client, repo, author_token, decodes):
    hostile = repeated_scans()
    assert len(hostile) < 20_000
    before = git(repo, "rev-parse", "main")
    response = upload(client, author_token, hostile, "slow.jpg", "image/jpeg")
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    message = response.get_json()["errors"]["file"][0]
    assert f"{jpeg.MAX_SCANS}" in message and "scans" in message
    assert decodes == []  # the walker refused it; Pillow decoded nothing
    assert git(repo, "rev-parse", "main") == before


def test_an_ordinary_progressive_jpeg_is_stored(client, repo, author_token):
    data = progressive(640, 480)
    response = upload(client, author_token, data, "fine.jpg", "image/jpeg")
    assert response.status_code == 201, response.get_json()
    assert git(repo, "cat-file", "blob", f"main:{response.get_json()['path']}", text=False) == data


def test_the_gate_refuses_it_naming_the_scans(tmp_path):
    server, work = tmp_path / "server", tmp_path / "work.git"
    made = subprocess.run(
        [cms_command(), "--repo", str(server), "init", "--no-token"], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    subprocess.run(["git", "clone", "-q", "--bare", str(server), str(work)], check=True)
    base = craft_run(work, "rev-parse", "main")
    hostile = repeated_scans()
    path = media_path_of(hostile, "jpg")
    pushed = subprocess.run(
        [
            "git",
            "--git-dir",
            str(work),
            "push",
            "origin",
            f"{with_files(work, base, {path: hostile})}:refs/heads/main",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    assert pushed.returncode != 0
    assert re.search(rf"{path}: content: .*{jpeg.MAX_SCANS} scans", pushed.stderr), pushed.stderr
    assert craft_run(server, "rev-parse", "main") == base


def test_a_published_one_from_before_the_rule_is_not_served_nor_rendered(
    client, repo, tmp_path, author_token, decodes
):
    hostile = repeated_scans()
    path = media_path_of(hostile, "jpg")
    plant(repo, tmp_path, {path: hostile}, "main", "published")
    blob = git(repo, "rev-parse", f"published:{path}").strip()
    # what an older server kept for it: the facts of a file that decoded
    folder = repo / "cms" / "renditions" / blob[:2] / blob
    folder.mkdir(parents=True)
    (folder / "facts.json").write_text(
        json.dumps(
            {
                "info": {
                    "format": "JPEG",
                    "ext": "jpg",
                    "content_type": "image/jpeg",
                    "width": 640,
                    "height": 480,
                    "frames": 1,
                    "orientation": 1,
                },
                "sha256": hashlib.sha256(hostile).hexdigest(),
                "located": False,
            }
        )
    )
    assert client.get(f"/{path}?w=320").status_code == 404
    assert client.get(f"/{path}").status_code == 404
    assert decodes == []
    listed = client.get(UPLOAD, headers=author_token).get_json()["items"]
    problems = {i["path"]: i.get("problems") for i in listed}[path]
    assert "scans" in problems["content"][0]
    # and the renderer itself walks the segments before it decodes
    with pytest.raises(ValidationFailed) as refused:
        render(hostile, 320)
    assert "file" in (refused.value.errors or {})
    assert decodes == []


def test_the_same_bytes_uploaded_again_are_not_decoded_again(client, repo, author_token, decodes):
    data = picture(300, 200, "JPEG")
    first = upload(client, author_token, data, "a.jpg", "image/jpeg")
    assert first.status_code == 201
    assert decodes  # the first time it was decoded to the end
    decodes.clear()
    commits = git(repo, "rev-list", "--count", "main")
    again = upload(client, author_token, data, "b.jpg", "image/jpeg")
    assert again.status_code == 201
    # one file for both: only the names it was uploaded under grow
    assert {**again.get_json(), "names": None} == {**first.get_json(), "names": None}
    assert again.get_json()["names"] == ["a.jpg", "b.jpg"]
    assert decodes == []
    assert git(repo, "rev-list", "--count", "main") == commits
