"""Feeds of the published line: Atom 1.0 and JSON Feed 1.1 (sitemaps are `sitemap`, bodies
as HTML and text `bodies`).

Rendering only, no Flask: each function takes the site's identity (`Site`) and the published
articles in the delivery API's shape, newest first, and returns the document. The output is a
pure function of its input (no clock is read), so responses can be cached and tagged.

Every text is escaped by the XML serialiser (ElementTree) or, inside HTML content, by
`html.escape`; characters XML cannot carry at all (most C0 controls, unpaired surrogates,
U+FFFE/U+FFFF) are dropped. Only http and https URLs are emitted, never one with a user part.
Authors are read by their `name` and `url` alone, so any other key (an `email`, say) never
reaches a feed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from cms.delivery.bodies import body_html, body_text, clean, safe_url
from cms.times import rfc3339

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
EPOCH = "1970-01-01T00:00:00Z"

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass(frozen=True)
class Site:
    """Who publishes: a title, the home page, and article URLs as a `{slug}` template."""

    title: str
    home_url: str
    article_url: str

    def url_for(self, slug: str) -> str:
        """The public URL of the article `slug` (the slug percent-encoded into the template)."""
        return self.article_url.replace("{slug}", quote(slug, safe=""))


# --- values ------------------------------------------------------------------------------


def _date(value: Any) -> str | None:
    """An RFC 3339 time as UTC `YYYY-MM-DDTHH:MM:SSZ`; None when absent or not a time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return rfc3339(moment)


def _published(article: dict[str, Any]) -> str:
    return _date(article.get("published_at")) or _date(article.get("updated_at")) or EPOCH


def updated(article: dict[str, Any]) -> str:
    return _date(article.get("updated_at")) or _published(article)


def _newest(articles: Iterable[dict[str, Any]]) -> str:
    # the list is ordered by publication, not by edit: look at every article
    return max((updated(a) for a in articles), default=EPOCH)


def _authors(article: dict[str, Any]) -> list[dict[str, str]]:
    """The article's authors as {name, url?}: only those two keys are ever read."""
    people = []
    for person in article.get("authors") or []:
        if not isinstance(person, dict):
            continue
        name = clean(person.get("name")).strip()
        if not name:
            continue
        entry = {"name": name}
        url = safe_url(person.get("url"))
        if url:
            entry["url"] = url
        people.append(entry)
    return people


def _tags(article: dict[str, Any]) -> list[str]:
    tags = []
    for tag in article.get("tags") or []:
        text = clean(tag).strip()
        if text and text not in tags:
            tags.append(text)
    return tags


def _language(article: dict[str, Any]) -> str | None:
    language = article.get("language")
    return clean(language) if isinstance(language, str) and language else None


def _uniform_language(articles: list[dict[str, Any]]) -> str | None:
    languages = {_language(a) for a in articles}
    if len(languages) == 1:
        return languages.pop()
    return None


def _lead_image(article: dict[str, Any]) -> str | None:
    image = article.get("image")
    return safe_url(image.get("src")) if isinstance(image, dict) else None


# --- XML ---------------------------------------------------------------------------------


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = clean(text)
    return element


def xml_document(root: ET.Element) -> bytes:
    """`root` as a UTF-8 document with an XML declaration.

    Elements are built with plain names under a root carrying `xmlns`, which declares the
    default namespace without touching ElementTree's global prefix registry (and lets
    attributes stay unqualified, as Atom and sitemaps want them).
    """
    return XML_DECLARATION + ET.tostring(root, encoding="unicode").encode("utf-8")


def atom(site: Site, articles: list[dict[str, Any]], feed_url: str) -> bytes:
    """An Atom 1.0 (RFC 4287) feed of `articles` (newest first), served from `feed_url`."""
    feed = ET.Element("feed", xmlns=ATOM_NS)
    language = _uniform_language(articles)
    if language:
        feed.set(XML_LANG, language)
    sub(feed, "id", site.home_url)
    sub(feed, "title", site.title, type="text")
    sub(feed, "updated", _newest(articles))
    sub(feed, "link", rel="self", type="application/atom+xml", href=clean(feed_url))
    sub(feed, "link", rel="alternate", type="text/html", href=clean(site.home_url))
    if any(not _authors(article) for article in articles):
        # RFC 4287 4.1.1: a feed names an author unless every entry does
        sub(sub(feed, "author"), "name", site.title)

    for article in articles:
        url = site.url_for(clean(article.get("slug")))
        entry = sub(feed, "entry")
        if language is None and _language(article):
            entry.set(XML_LANG, _language(article) or "")
        sub(entry, "id", url)
        sub(entry, "title", article.get("title"), type="text")
        sub(entry, "link", rel="alternate", type="text/html", href=url)
        sub(entry, "published", _published(article))
        sub(entry, "updated", updated(article))
        for person in _authors(article):
            author = sub(entry, "author")
            sub(author, "name", person["name"])
            if "url" in person:
                sub(author, "uri", person["url"])
        for tag in _tags(article):
            sub(entry, "category", term=tag)
        summary = clean(article.get("summary")).strip()
        if summary:
            sub(entry, "summary", summary, type="text")
        sub(entry, "content", body_html(article.get("body") or []), type="html")
    return xml_document(feed)


def json_feed(site: Site, articles: list[dict[str, Any]], feed_url: str) -> dict[str, Any]:
    """A JSON Feed 1.1 of `articles` (newest first), served from `feed_url`, as a plain dict."""
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": clean(site.title),
        "home_page_url": clean(site.home_url),
        "feed_url": clean(feed_url),
    }
    language = _uniform_language(articles)
    if language:
        feed["language"] = language
    items = []
    for article in articles:
        url = site.url_for(clean(article.get("slug")))
        body = article.get("body") or []
        item: dict[str, Any] = {"id": url, "url": url, "title": clean(article.get("title"))}
        summary = clean(article.get("summary")).strip()
        if summary:
            item["summary"] = summary
        item["content_html"] = body_html(body)
        item["content_text"] = body_text(body)
        item["date_published"] = _published(article)
        item["date_modified"] = updated(article)
        authors = _authors(article)
        if authors:
            item["authors"] = authors
        tags = _tags(article)
        if tags:
            item["tags"] = tags
        image = _lead_image(article)
        if image:
            item["image"] = image
        if language is None and _language(article):
            item["language"] = _language(article)
        items.append(item)
    feed["items"] = items
    return feed
