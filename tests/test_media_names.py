"""Media names: the file name an image was uploaded under, and its alt text, kept beside the
content-addressed file (branch `cms/media`), shown and searched in the library's list (the
workbench's media library: `tests/test_decap.py`)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

from test_media import UPLOAD, picture, upload
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def upload_with_alt(client: Any, headers: dict[str, str], data: bytes, name: str, alt: str) -> Any:
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(data), name, content_type="image/png"), "alt": alt}
    )
    return client.post(
        UPLOAD, headers=headers, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def test_the_uploaded_name_and_alt_are_kept_shown_and_searched(client, repo, author_token):
    market = upload_with_alt(
        client, author_token, picture(80, 40), "night-market.jpg", "Stalls lit at night"
    )
    assert market.status_code == 201, market.get_json()
    shown = market.get_json()
    assert (shown["name"], shown["names"], shown["alt"]) == (
        "night-market.jpg",
        ["night-market.jpg"],
        "Stalls lit at night",
    )
    harbour = upload(client, author_token, picture(60, 40), "harbour.png").get_json()
    assert harbour["name"] == "harbour.png" and harbour["alt"] is None
    # the content address is the path, whatever the name
    assert shown["path"].endswith(f"/{shown['sha256']}.png")

    listed = client.get(UPLOAD, headers=author_token).get_json()
    assert {i["name"] for i in listed["items"]} == {"night-market.jpg", "harbour.png"}
    found = client.get(f"{UPLOAD}?q=night", headers=author_token).get_json()
    assert [i["path"] for i in found["items"]] == [shown["path"]]
    assert found["meta"]["total"] == 1
    by_alt = client.get(f"{UPLOAD}?q=STALLS lit", headers=author_token).get_json()
    assert [i["name"] for i in by_alt["items"]] == ["night-market.jpg"]
    assert client.get(f"{UPLOAD}?q=bicycle", headers=author_token).get_json()["items"] == []
    one = client.get(f"{UPLOAD}/{shown['path']}", headers=author_token).get_json()
    assert one["name"] == "night-market.jpg"

    # in git: the file on main under its content address, its name on cms/media
    stored = json.loads(git(repo, "show", f"cms/media:{shown['path']}.json"))
    assert stored == {"names": ["night-market.jpg"], "alt": "Stalls lit at night"}
    log = git(repo, "log", "--format=%an|%s", "cms/media").splitlines()
    assert log[-1].startswith("Ann Author|Name image ") and log[-1].endswith(": night-market.jpg")


def test_the_same_bytes_under_two_names_are_one_file_with_both(client, repo, author_token):
    data = picture(64, 64)
    first = upload(client, author_token, data, "stall.png").get_json()
    commits = git(repo, "rev-list", "--count", "main")
    second = upload(client, author_token, data, "market-stall.png").get_json()
    assert second["path"] == first["path"]
    assert second["names"] == ["stall.png", "market-stall.png"]
    assert git(repo, "rev-list", "--count", "main") == commits  # no second file commit
    listed = client.get(UPLOAD, headers=author_token).get_json()
    assert listed["meta"]["total"] == 1 and listed["items"][0]["name"] == "stall.png"
    assert client.get(f"{UPLOAD}?q=market", headers=author_token).get_json()["meta"]["total"] == 1
    # the same name again changes nothing
    names_before = git(repo, "rev-parse", "cms/media")
    upload(client, author_token, data, "stall.png")
    assert git(repo, "rev-parse", "cms/media") == names_before


def test_a_bad_alt_is_refused_naming_it_and_nothing_is_committed(client, repo, author_token):
    before = git(repo, "for-each-ref")
    refused = upload_with_alt(client, author_token, picture(30, 30), "x.png", "a" * 1001)
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert list(refused.get_json()["errors"]) == ["alt"]
    assert git(repo, "for-each-ref") == before
