"""A preview link's images: URLs a frontend can load, with width, height and srcset as delivery
gives them, for the draft's own unpublished files while the link is valid, and nothing else."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from conftest import article
from test_media import picture, upload

MANAGE = "/api/v1/manage/articles"


def draft_with_pictures(client: Any, headers: dict[str, str]) -> tuple[str, str, str]:
    """A draft whose lead image and one body image are new uploads; (slug, lead, body)."""
    lead = upload(client, headers, picture(1000, 500), "night-market.png").get_json()["path"]
    inner = upload(client, headers, picture(400, 300), "stall.png").get_json()["path"]
    body = article("Night market opens", image={"src": lead, "alt": "Stalls at night"})
    body["body"].append({"type": "image", "src": inner, "alt": "A stall"})
    made = client.post(MANAGE, json=body, headers=headers)
    assert made.status_code == 201, made.get_json()
    return made.get_json()["slug"], lead, inner


def link_for(client: Any, headers: dict[str, str], slug: str, **args: Any) -> str:
    made = client.post(f"{MANAGE}/{slug}/preview-link", json=args or None, headers=headers)
    assert made.status_code == 201
    return made.get_json()["url"]


def test_a_preview_link_gives_its_drafts_images_as_urls_that_load(
    client, author_token, editor_token
):
    slug, lead, inner = draft_with_pictures(client, author_token)
    url = link_for(client, author_token, slug)
    shown = client.get(urlsplit(url).path).get_json()
    image = shown["image"]
    assert image["src"] == f"{url}/{lead}"  # not the stored path: an address
    assert (image["width"], image["height"]) == (1000, 500)
    assert image["srcset"].split(", ")[0] == f"{url}/{lead}?w=320 320w"
    assert image["srcset"].endswith(f"{url}/{lead} 1000w")
    assert shown["body"][-1]["src"] == f"{url}/{inner}"
    for src in (image["src"], shown["body"][-1]["src"], f"{url}/{lead}?w=640"):
        loaded = client.get(
            urlsplit(src).path + (f"?{urlsplit(src).query}" if urlsplit(src).query else "")
        )
        assert loaded.status_code == 200 and loaded.mimetype.startswith("image/")
    assert client.get(urlsplit(f"{url}/{lead}").path, query_string={"w": "333"}).status_code == 400
    # the public address does not serve a draft's image
    assert client.get(f"/{lead}").status_code == 404

    # once published, the images are delivered from their public address
    assert client.post(f"{MANAGE}/{slug}/publish", headers=editor_token).status_code == 200
    live = client.get(urlsplit(url).path).get_json()["image"]
    assert live["src"] == f"http://localhost/{lead}"
    assert client.get(f"/{lead}").status_code == 200


def test_a_link_serves_only_the_images_its_draft_uses(client, author_token):
    slug, lead, _ = draft_with_pictures(client, author_token)
    other = upload(client, author_token, picture(90, 90), "secret.png").get_json()["path"]
    url = urlsplit(link_for(client, author_token, slug)).path
    assert client.get(f"{url}/{lead}").status_code == 200
    refused = client.get(f"{url}/{other}")
    assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    assert client.get(f"{url}/media/not-a-path.png").status_code == 404
    # another article's link does not open this draft's images
    made = client.post(MANAGE, json=article("Other"), headers=author_token).get_json()
    assert (
        client.get(
            f"{urlsplit(link_for(client, author_token, made['slug'])).path}/{lead}"
        ).status_code
        == 404
    )
    # the draft stops using the image: the link stops serving it
    etag = client.get(f"{MANAGE}/{slug}", headers=author_token).headers["ETag"]
    changed = client.patch(
        f"{MANAGE}/{slug}", json={"image": None}, headers={**author_token, "If-Match": etag}
    )
    assert changed.status_code == 200
    assert client.get(f"{url}/{lead}").status_code == 404


def test_an_expired_link_serves_no_image(client, author_token):
    slug, lead, _ = draft_with_pictures(client, author_token)
    url = urlsplit(link_for(client, author_token, slug, expires_in=1)).path
    assert client.get(f"{url}/{lead}").status_code == 200
    time.sleep(1.5)
    assert client.get(f"{url}/{lead}").status_code == 410
