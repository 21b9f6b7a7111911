"""The media library through HTTP and git: uploads proved by decoding, stored once by content,
published with the article that uses them, served immutable with renditions."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import struct
import subprocess
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import GIT_ENV, article, cms_command
from gitcraft import run as craft_run
from gitcraft import with_files
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from cms.web import create_app, services

UPLOAD = "/api/v1/manage/media"


def picture(width: int = 1000, height: int = 500, fmt: str = "PNG", **save: Any) -> bytes:
    """A small generated image: two colours split down the middle, so a resize is visible."""
    image = Image.new("RGB", (width, height), (30, 90, 160))
    image.paste((240, 200, 40), (width // 2, 0, width, height))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def gps_jpeg(width: int = 400, height: int = 300) -> bytes:
    """A JPEG as a phone makes it: orientation 6 (turned a quarter) and a GPS position."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Test Camera"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 1.0)}
    return picture(width, height, "JPEG", exif=exif.tobytes(), quality=90)


def upload(
    client: Any,
    headers: dict[str, str],
    data: bytes,
    name: str = "photo.png",
    content_type: str = "image/png",
) -> Any:
    # encoded in memory: the test client's own encoding spills large files to a temporary
    # file it never closes
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(data), name, content_type=content_type)}
    )
    return client.post(
        UPLOAD, headers=headers, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def git(repo: Path, *args: str, text: bool = True) -> Any:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], check=True, capture_output=True, text=text
    ).stdout


def publish_article(
    client: Any, headers: dict[str, str], src: str, title: str = "Harbour at dawn"
) -> dict[str, Any]:
    body = article(title, image={"src": src, "alt": "The harbour"})
    body["body"].append({"type": "image", "src": src, "alt": "Again", "caption": "Boats"})
    created = client.post("/api/v1/manage/articles", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    slug = created.get_json()["slug"]
    published = client.post(f"/api/v1/manage/articles/{slug}/publish", headers=headers)
    assert published.status_code == 200, published.get_json()
    return published.get_json()


def url_of(path: str) -> str:
    return f"http://localhost/{path}"


def test_upload_then_publish_then_served(client, repo, author_token, editor_token):
    data = picture()
    response = upload(client, author_token, data, "harbour.png")
    assert response.status_code == 201, response.get_json()
    stored = response.get_json()
    digest = hashlib.sha256(data).hexdigest()
    assert stored["path"] == f"media/{digest[:2]}/{digest}.png"
    assert stored["sha256"] == digest
    assert (stored["content_type"], stored["bytes"]) == ("image/png", len(data))
    assert (stored["width"], stored["height"]) == (1000, 500)
    assert stored["url"] == f"http://localhost/{stored['path']}"
    assert response.headers["Location"].endswith(stored["path"])

    # one commit on main, by the uploader, saying what it did
    log = git(repo, "log", "-1", "--format=%an <%ae>%n%cn%n%B", "main")
    assert log.startswith("Ann Author <ann@example.org>\nGit CMS\nUpload image ")
    assert "Action: upload" in log and f"Media: {stored['path']}" in log
    assert git(repo, "cat-file", "blob", f"main:{stored['path']}", text=False) == data

    # a draft's image is not public
    assert client.get(f"/{stored['path']}").status_code == 404
    assert client.get(f"/{stored['path']}?w=320").status_code == 404

    publish_article(client, editor_token, stored["path"])
    # the publish commit brought the file to `published`
    shown = git(repo, "show", "--stat=200", "--format=%s", "published")
    assert shown.startswith("Publish harbour-at-dawn")
    assert stored["path"] in shown
    assert git(repo, "cat-file", "blob", f"published:{stored['path']}", text=False) == data

    served = client.get(f"/{stored['path']}")
    assert served.status_code == 200
    assert served.data == data and served.mimetype == "image/png"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["Access-Control-Allow-Origin"] == "*"
    etag = served.headers["ETag"]
    again = client.get(f"/{stored['path']}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""

    # delivery describes the image: public URL, size and srcset
    live = client.get("/api/v1/articles/harbour-at-dawn").get_json()
    url = f"http://localhost/{stored['path']}"
    expected = {
        "src": url,
        "alt": "The harbour",
        "width": 1000,
        "height": 500,
        "srcset": f"{url}?w=320 320w, {url}?w=640 640w, {url}?w=960 960w, {url} 1000w",
    }
    assert live["image"] == expected
    assert live["body"][-1] == {"type": "image", **expected, "alt": "Again", "caption": "Boats"}
    # the same from the reads answered before Flask, and from the response cache
    for url in (
        "/api/v1/articles/harbour-at-dawn?n=1",
        "/api/v1/articles/harbour-at-dawn?n=2",
        "/api/v1/articles/harbour-at-dawn",
    ):
        assert client.get(url).get_json()["image"] == expected
    synced = client.get("/api/v1/sync").get_json()["changed"][0]
    assert synced["image"] == expected
    feed = client.get("/feed.json").get_json()["items"][0]
    assert feed["image"] == url_of(stored["path"])
    card = client.get("/api/v1/articles").get_json()["items"][0]
    assert card["image"] == expected
    # editors keep seeing the stored path
    draft = client.get("/api/v1/manage/articles/harbour-at-dawn", headers=author_token)
    assert draft.get_json()["image"] == {"src": stored["path"], "alt": "The harbour"}


def test_same_bytes_twice_are_one_file_and_one_commit(client, repo, author_token):
    data = picture(64, 64)
    first = upload(client, author_token, data, "a.png")
    commits = git(repo, "rev-list", "--count", "main")
    second = upload(client, author_token, data, "b.png")
    assert first.status_code == second.status_code == 201
    assert second.get_json()["path"] == first.get_json()["path"]
    assert git(repo, "rev-list", "--count", "main") == commits
    listed = client.get(UPLOAD, headers=author_token).get_json()
    assert [i["path"] for i in listed["items"]] == [first.get_json()["path"]]
    assert listed["meta"]["total"] == 1
    assert listed["items"][0]["published"] is False


def crafted_png(width: int, height: int) -> bytes:
    """A valid tiny PNG whose header claims `width` x `height`: a decompression bomb's shape."""
    png = picture(8, 8)
    ihdr = struct.pack(">II", width, height) + png[24:29]
    return png[:16] + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + png[33:]


@pytest.mark.parametrize(
    "data, name, status, field",
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "x.svg",
            415,
            "file",
        ),
        (b"GIF89a but not really", "x.gif", 415, "file"),
        (picture(300, 200, "JPEG")[:1500], "cut.jpg", 422, "file"),
        (crafted_png(10000, 10000), "bomb.png", 422, "file"),
        (b"%PDF-1.7\n", "doc.pdf", 415, "file"),
    ],
)
def test_refusals_name_the_file_and_change_nothing(
    client, repo, author_token, data, name, status, field
):
    before = git(repo, "rev-parse", "main")
    response = upload(client, author_token, data, name, "image/jpeg")
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert git(repo, "rev-parse", "main") == before


def test_the_bytes_decide_not_the_name(client, author_token):
    data = picture(120, 80)  # a PNG sent as a JPEG
    response = upload(client, author_token, data, "holiday.jpg", "image/jpeg")
    assert response.status_code == 201
    stored = response.get_json()
    assert stored["path"].endswith(".png") and stored["content_type"] == "image/png"


def test_too_large_is_413_and_other_routes_keep_their_limit(repo, author_token):
    app = create_app(
        {"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False, "MEDIA_MAX_BYTES": 40_000}
    )
    client = app.test_client()
    try:
        noise = Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3))
        out = io.BytesIO()
        noise.save(out, "PNG")
        assert len(out.getvalue()) > 40_000
        response = upload(client, author_token, out.getvalue())
        assert response.status_code == 413
        assert response.mimetype == "application/problem+json"
        # an upload that fits goes through, well over the JSON routes' 1 MiB... is not needed
        assert upload(client, author_token, picture(40, 40)).status_code == 201
        big_json = client.post(
            "/api/v1/manage/articles",
            headers=author_token,
            json=article(summary="x" * (1024 * 1024)),
        )
        assert big_json.status_code == 413
    finally:
        services(app).close()


def test_uploads_over_a_mebibyte_are_accepted(client, author_token):
    noise = Image.frombytes("RGB", (800, 800), os.urandom(800 * 800 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG")
    assert len(out.getvalue()) > 1024 * 1024
    assert upload(client, author_token, out.getvalue()).status_code == 201


def test_location_is_removed_and_orientation_kept(client, repo, author_token):
    original = gps_jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    stored = upload(client, author_token, original, "phone.jpg", "image/jpeg").get_json()
    kept = git(repo, "cat-file", "blob", f"main:{stored['path']}", text=False)
    assert (
        stored["sha256"] == hashlib.sha256(kept).hexdigest() != hashlib.sha256(original).hexdigest()
    )
    image = Image.open(io.BytesIO(kept))
    exif = image.getexif()
    assert 0x8825 not in exif and not exif.get_ifd(0x8825)
    assert exif[0x0112] == 6 and exif[0x010F] == "Test Camera"
    # the pixels were not re-encoded
    assert image.tobytes() == Image.open(io.BytesIO(original)).tobytes()
    # shown turned a quarter: 300 wide, 400 high
    assert (stored["width"], stored["height"]) == (300, 400)


def test_renditions_have_the_widths_asked_for(client, repo, author_token, editor_token):
    stored = upload(client, author_token, picture(1000, 500)).get_json()
    publish_article(client, editor_token, stored["path"])
    for width, size in [(320, (320, 160)), (640, (640, 320)), (960, (960, 480))]:
        response = client.get(f"/{stored['path']}?w={width}")
        assert response.status_code == 200
        assert response.mimetype == "image/webp"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        image = Image.open(io.BytesIO(response.data))
        assert (image.format, image.size) == ("WEBP", size)
        etag = response.headers["ETag"]
        assert (
            client.get(f"/{stored['path']}?w={width}", headers={"If-None-Match": etag}).status_code
            == 304
        )
    # kept on disk outside the repository's history, and deletable
    kept = list((repo / "cms" / "renditions").rglob("*.webp"))
    assert len(kept) == 3
    # never wider than the original: the original itself
    assert client.get(f"/{stored['path']}?w=1280").data == git(
        repo, "cat-file", "blob", f"main:{stored['path']}", text=False
    )
    bad = client.get(f"/{stored['path']}?w=500")
    assert bad.status_code == 400 and "w" in bad.get_json()["errors"]
    for path in kept:
        path.unlink()
    assert Image.open(io.BytesIO(client.get(f"/{stored['path']}?w=320").data)).size == (320, 160)


def test_a_turned_photo_renders_upright(client, author_token, editor_token):
    stored = upload(client, author_token, gps_jpeg(800, 600), "phone.jpg", "image/jpeg").get_json()
    assert (stored["width"], stored["height"]) == (600, 800)
    publish_article(client, editor_token, stored["path"])
    image = Image.open(io.BytesIO(client.get(f"/{stored['path']}?w=320").data))
    assert image.size == (320, 427)


def test_delete_is_for_editors_and_refused_while_a_live_article_uses_it(
    client, repo, author_token, editor_token
):
    stored = upload(client, author_token, picture(50, 50)).get_json()
    path = stored["path"]
    publish_article(client, editor_token, path)
    assert client.delete(f"{UPLOAD}/{path}", headers=author_token).status_code == 403
    refused = client.delete(f"{UPLOAD}/{path}", headers=editor_token)
    assert refused.status_code == 409
    assert "harbour-at-dawn" in refused.get_json()["detail"]
    assert client.get(f"/{path}").status_code == 200

    unpublished = client.post(
        "/api/v1/manage/articles/harbour-at-dawn/unpublish", headers=editor_token
    )
    assert unpublished.status_code == 200
    assert client.delete(f"{UPLOAD}/{path}", headers=editor_token).status_code == 204
    assert git(repo, "ls-tree", "-r", "--name-only", "main", "media") == ""
    assert git(repo, "ls-tree", "-r", "--name-only", "published", "media") == ""
    assert client.get(f"/{path}").status_code == 404
    assert client.get(f"{UPLOAD}/{path}", headers=author_token).status_code == 404
    log = git(repo, "log", "-1", "--format=%an%n%B", "main")
    assert log.startswith("Eve Editor\nDelete image ") and "Action: delete" in log


def test_publishing_an_article_naming_a_missing_file_is_422(
    client, repo, author_token, editor_token
):
    missing = "media/ab/ab" + "0" * 62 + ".jpg"
    # a draft may name a file not uploaded yet (articles imported before their media)
    created = client.post(
        "/api/v1/manage/articles",
        headers=author_token,
        json=article(image={"src": missing, "alt": "Nothing"}),
    )
    assert created.status_code == 201
    before = git(repo, "rev-parse", "published")
    response = client.post(
        "/api/v1/manage/articles/council-approves-budget/publish", headers=editor_token
    )
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["image.src"]
    assert git(repo, "rev-parse", "published") == before
    malformed = client.post(
        "/api/v1/manage/articles",
        headers=author_token,
        json=article(image={"src": "media/ab/x.jpg", "alt": "Nothing"}),
    )
    assert malformed.status_code == 422 and "image.src" in malformed.get_json()["errors"]


def test_uploading_needs_a_token_and_a_file(client, author_token):
    assert upload(client, {}, picture(10, 10)).status_code == 401
    no_file = client.post(
        UPLOAD, headers=author_token, content_type="multipart/form-data", data={"other": "x"}
    )
    assert no_file.status_code == 422 and "file" in no_file.get_json()["errors"]
    as_json = client.post(UPLOAD, headers=author_token, json={"file": "x"})
    assert as_json.status_code == 415


def test_a_scheduled_publication_brings_its_media(client, repo, author_token, editor_token):
    stored = upload(client, author_token, picture(60, 40)).get_json()
    created = client.post(
        "/api/v1/manage/articles",
        headers=author_token,
        json=article(image={"src": stored["path"], "alt": "Later"}),
    )
    slug = created.get_json()["slug"]
    when = datetime.now(UTC) + timedelta(seconds=2)
    scheduled = client.post(
        f"/api/v1/manage/articles/{slug}/publish",
        headers=editor_token,
        json={"publish_at": when.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )
    assert scheduled.get_json()["meta"]["state"] == "scheduled"
    assert client.get(f"/{stored['path']}").status_code == 404
    time.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()) + 1.1)
    done = subprocess.run(
        [cms_command(), "--repo", str(repo), "publish-due"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    shown = git(repo, "show", "--stat=200", "--format=%s%n%b", "published")
    assert f"Publish {slug}" in shown and "Scheduled-For:" in shown
    assert stored["path"] in shown
    assert client.get(f"/{stored['path']}").data == picture(60, 40)


def test_the_readme_media_tour_works_against_cms_serve(repo, server, admin_secret):
    text = (Path(__file__).parent.parent / "docs" / "media.md").read_text()
    section = text[text.index("# Media") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    (repo.parent / "harbour.jpg").write_bytes(gps_jpeg(1200, 800))
    env = {**os.environ, **GIT_ENV, "CMS_TOKEN": admin_secret, "CMS_URL": server}
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.group(1)],
        env=env,
        cwd=repo.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    assert "about:blank" not in out  # no call answered with an error
    path = re.search(r'"path":"(media/[0-9a-f]{2}/[0-9a-f]{64}\.jpg)"', out)
    assert path is not None
    assert "\n404\n" in out
    assert "Publish harbour-at-dawn" in out and path.group(1) in out
    assert "200 image/jpeg public, max-age=31536000, immutable" in out
    assert "200 image/webp" in out
    assert f"'src': '{server}/{path.group(1)}'" in out
    assert "'width': 800, 'height': 1200" in out and "?w=640 640w" in out
    assert int(git(repo, "rev-list", "--count", "--grep", "Action: upload", "main")) == 1


def plant(repo: Path, tmp_path: Path, files: dict[str, bytes], *refs: str) -> None:
    """Commit `files` onto each ref by hand, as a person with shell access could: around the
    API and around any gate."""
    env = {**os.environ, **GIT_ENV, "GIT_INDEX_FILE": str(tmp_path / "planting-index")}
    run = lambda *a, data=None: (  # noqa: E731
        subprocess.run(
            ["git", "--git-dir", str(repo), *a],
            input=data,
            env=env,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .strip()
    )
    for ref in refs:
        run("read-tree", ref)
        for path, data in files.items():
            blob = run("hash-object", "-w", "--stdin", data=data)
            run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
        commit = run("commit-tree", run("write-tree"), "-p", ref, "-m", "Planted by hand")
        run("update-ref", f"refs/heads/{ref}", commit)


def test_media_that_got_around_the_rules_are_never_served_and_cms_check_names_them(
    client, repo, tmp_path, author_token
):
    located = gps_jpeg()
    good = picture(30, 30)
    misnamed = "media/00/" + "0" * 64 + ".png"
    named_right = (
        f"media/{hashlib.sha256(located).hexdigest()[:2]}/{hashlib.sha256(located).hexdigest()}.jpg"
    )
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"/>'
    svg_path = f"media/{hashlib.sha256(svg).hexdigest()[:2]}/{hashlib.sha256(svg).hexdigest()}.png"
    plant(
        repo,
        tmp_path,
        {misnamed: good, named_right: located, svg_path: svg, "media/stray.txt": b"hello"},
        "main",
        "published",
    )
    for path in (misnamed, named_right, svg_path):
        assert client.get(f"/{path}").status_code == 404, path
    listed = {i["path"]: i for i in client.get(UPLOAD, headers=author_token).get_json()["items"]}
    assert set(listed[misnamed]["problems"]) == {"path"}
    assert set(listed[named_right]["problems"]) == {"location"}
    assert set(listed[svg_path]["problems"]) == {"content"}

    result = subprocess.run(
        [cms_command(), "--repo", str(repo), "check"], capture_output=True, text=True
    )
    assert result.returncode == 1
    for line in ("main", "published"):
        assert f"{line}: {misnamed}: path: " in result.stdout
        assert f"{line}: {named_right}: location: " in result.stdout
        assert f"{line}: {svg_path}: content: " in result.stdout
        assert f"{line}: media/stray.txt: path: Not a media file name" in result.stdout


def test_webp_and_animated_gif_are_stored_and_an_animation_is_never_resized(
    client, author_token, editor_token
):
    webp = upload(client, author_token, picture(700, 350, "WEBP"), "a.webp").get_json()
    assert (webp["content_type"], webp["width"], webp["path"][-5:]) == ("image/webp", 700, ".webp")
    frames = [Image.new("RGB", (700, 350), colour) for colour in ("red", "blue", "green")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    gif = upload(client, author_token, out.getvalue(), "a.gif").get_json()
    assert gif["content_type"] == "image/gif" and gif["path"].endswith(".gif")
    publish_article(client, editor_token, gif["path"])
    # an animation keeps moving: ?w= answers the original, and the srcset offers only it
    assert client.get(f"/{gif['path']}?w=320").data == out.getvalue()
    live = client.get("/api/v1/articles/harbour-at-dawn").get_json()["image"]
    assert live["srcset"] == f"{live['src']} 700w"
    assert client.head(f"/{gif['path']}").status_code == 200


def test_a_release_brings_the_media_of_each_article(client, repo, author_token, editor_token):
    first = upload(client, author_token, picture(40, 40)).get_json()["path"]
    second = upload(client, author_token, picture(50, 40)).get_json()["path"]
    missing = "media/ab/ab" + "0" * 62 + ".png"
    slugs = []
    for title, src in (
        ("First picture", first),
        ("Second picture", second),
        ("No picture yet", missing),
    ):
        created = client.post(
            "/api/v1/manage/articles",
            headers=author_token,
            json=article(title, image={"src": src, "alt": title}),
        )
        slugs.append(created.get_json()["slug"])
    before = git(repo, "rev-parse", "published")
    refused = client.post("/api/v1/manage/releases", headers=editor_token, json={"slugs": slugs})
    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]) == ["slugs.2"]
    assert git(repo, "rev-parse", "published") == before

    done = client.post("/api/v1/manage/releases", headers=editor_token, json={"slugs": slugs[:2]})
    assert done.status_code in (200, 201), done.get_json()
    changed = git(repo, "show", "--name-only", "--format=", "published").split()
    assert first in changed and second in changed
    assert client.get(f"/{first}").status_code == client.get(f"/{second}").status_code == 200


def test_an_imported_live_article_gets_its_picture_once_uploaded_and_published_again(
    client, repo, tmp_path, author_token, editor_token
):
    data = picture(90, 60)
    digest = hashlib.sha256(data).hexdigest()
    path = f"media/{digest[:2]}/{digest}.png"
    source = tmp_path / "archive.json"
    source.write_text(
        json.dumps(
            article("From the archive", slug="from-the-archive", image={"src": path, "alt": "Old"})
        )
    )
    done = subprocess.run(
        [
            cms_command(),
            "--repo",
            str(repo),
            "import",
            str(source),
            "--publish",
            "--author",
            "Ivy Importer <ivy@example.org>",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    # live as the archive says, its picture not here yet
    assert client.get("/api/v1/articles/from-the-archive").status_code == 200
    assert client.get(f"/{path}").status_code == 404
    assert upload(client, author_token, data).get_json()["path"] == path
    assert client.get(f"/{path}").status_code == 404
    again = client.post("/api/v1/manage/articles/from-the-archive/publish", headers=editor_token)
    assert again.status_code == 200
    assert git(repo, "show", "--name-only", "--format=%s", "published").split() == [
        "Publish",
        "from-the-archive",
        path,
    ]
    assert client.get(f"/{path}").data == data
    assert (
        client.post(
            "/api/v1/manage/articles/from-the-archive/publish", headers=editor_token
        ).status_code
        == 409
    )


def media_path_of(data: bytes, ext: str) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"media/{digest[:2]}/{digest}.{ext}"


def test_the_gate_holds_pushed_media_to_the_rules_of_an_upload(tmp_path):
    server, work = tmp_path / "server", tmp_path / "work.git"
    made = subprocess.run(
        [cms_command(), "--repo", str(server), "init", "--no-token"], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    subprocess.run(["git", "clone", "-q", "--bare", str(server), str(work)], check=True)
    base = craft_run(work, "rev-parse", "main")
    fine, located = picture(20, 20), gps_jpeg()
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    misnamed = "media/00/" + "0" * 64 + ".png"

    def push(commit: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "--git-dir", str(work), "push", "origin", f"{commit}:refs/heads/main"],
            capture_output=True,
            text=True,
            env={**os.environ, **GIT_ENV},
        )

    bad = with_files(
        work,
        base,
        {media_path_of(located, "jpg"): located, media_path_of(svg, "png"): svg, misnamed: fine},
    )
    refused = push(bad)
    assert refused.returncode != 0
    said = refused.stderr
    assert f"{media_path_of(located, 'jpg')}: location: It carries location metadata" in said
    assert f"{media_path_of(svg, 'png')}: content: Not a JPEG, PNG, WebP or GIF image" in said
    assert f"{misnamed}: path: A media file is named by the SHA-256 of its bytes" in said
    assert craft_run(server, "rev-parse", "main") == base

    accepted = push(with_files(work, base, {media_path_of(fine, "png"): fine}))
    assert accepted.returncode == 0, accepted.stderr
    assert craft_run(server, "cat-file", "-t", f"main:{media_path_of(fine, 'png')}") == "blob"
