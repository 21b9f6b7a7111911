"""Feeds of the published line: Atom 1.0, JSON Feed 1.1 and a sitemaps.org 0.9 sitemap.

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

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape as xml_escape

from cms.content.blocks import kind_of, renderers
from cms.times import iso, rfc3339

ATOM_NS = "http://www.w3.org/2005/Atom"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
EPOCH = "1970-01-01T00:00:00Z"
SITEMAP_MAX_URLS = 50_000  # the protocol's limit for one sitemap file

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_PLAIN_SLUG = re.compile(r"[a-z0-9-]+")  # nothing to percent-encode or escape
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


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


def _text(value: Any) -> str:
    """`value` as text XML can carry: line breaks as LF, characters XML forbids dropped."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _safe_url(value: Any) -> str | None:
    """`value` if it is an absolute http(s) URL without credentials or whitespace, else None."""
    if not isinstance(value, str) or not value or _NOT_XML.search(value):
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if "@" in parts.netloc:
        return None
    return value


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


def _updated(article: dict[str, Any]) -> str:
    return _date(article.get("updated_at")) or _published(article)


def _newest(articles: Iterable[dict[str, Any]]) -> str:
    # the list is ordered by publication, not by edit: look at every article
    return max((_updated(a) for a in articles), default=EPOCH)


def _authors(article: dict[str, Any]) -> list[dict[str, str]]:
    """The article's authors as {name, url?}: only those two keys are ever read."""
    people = []
    for person in article.get("authors") or []:
        if not isinstance(person, dict):
            continue
        name = _text(person.get("name")).strip()
        if not name:
            continue
        entry = {"name": name}
        url = _safe_url(person.get("url"))
        if url:
            entry["url"] = url
        people.append(entry)
    return people


def _tags(article: dict[str, Any]) -> list[str]:
    tags = []
    for tag in article.get("tags") or []:
        text = _text(tag).strip()
        if text and text not in tags:
            tags.append(text)
    return tags


def _language(article: dict[str, Any]) -> str | None:
    language = article.get("language")
    return _text(language) if isinstance(language, str) and language else None


def _uniform_language(articles: list[dict[str, Any]]) -> str | None:
    languages = {_language(a) for a in articles}
    if len(languages) == 1:
        return languages.pop()
    return None


def _lead_image(article: dict[str, Any]) -> str | None:
    image = article.get("image")
    return _safe_url(image.get("src")) if isinstance(image, dict) else None


# --- HTML --------------------------------------------------------------------------------


def _escape(value: Any) -> str:
    return html.escape(_text(value), quote=True)


def _lines(value: Any) -> str:
    """Escaped text with its line breaks kept as <br>."""
    return "<br>\n".join(_escape(line) for line in _text(value).split("\n"))


def _figure(block: dict[str, Any]) -> str:
    src = _safe_url(block.get("src"))
    if src is None:
        return ""
    parts = [f'<figure><img src="{_escape(src)}" alt="{_escape(block.get("alt"))}">']
    caption = " — ".join(
        _escape(block[key]) for key in ("caption", "credit") if _text(block.get(key)).strip())
    if caption:
        parts.append(f"<figcaption>{caption}</figcaption>")
    parts.append("</figure>")
    return "".join(parts)


def _paragraph_html(block: dict[str, Any]) -> str:
    return f"<p>{_lines(block.get('text'))}</p>"


def _heading_html(block: dict[str, Any]) -> str:
    level = block.get("level")
    level = min(max(level, 2), 4) if isinstance(level, int) else 2
    return f"<h{level}>{_escape(block.get('text'))}</h{level}>"


def _quote_html(block: dict[str, Any]) -> str:
    cite = _text(block.get("cite")).strip()
    footer = f"<footer>{_escape(cite)}</footer>" if cite else ""
    return f"<blockquote><p>{_lines(block.get('text'))}</p>{footer}</blockquote>"


def _list_html(block: dict[str, Any]) -> str:
    tag = "ol" if block.get("ordered") is True else "ul"
    items = "".join(f"<li>{_lines(item)}</li>" for item in block.get("items") or [])
    return f"<{tag}>{items}</{tag}>"


def _embed_html(block: dict[str, Any]) -> str:
    url = _safe_url(block.get("url"))
    return f'<p><a href="{_escape(url)}">{_escape(url)}</a></p>' if url else ""


HTML = renderers("feeds' HTML", {"paragraph": _paragraph_html, "heading": _heading_html,
                                 "quote": _quote_html, "list": _list_html, "image": _figure,
                                 "embed": _embed_html})


def _block_html(block: Any) -> str:
    kind = kind_of(block)
    # a block type this renderer does not know is left out, never passed through
    return HTML[kind.name](block) if kind is not None else ""


def body_html(body: list[dict[str, Any]]) -> str:
    """Safe HTML for an article body: every text escaped, only http(s) URLs, one line a block."""
    return "\n".join(part for part in map(_block_html, body or []) if part)


def _quote_text(block: dict[str, Any]) -> str:
    cite = _text(block.get("cite")).strip()
    return f"“{_text(block.get('text'))}”" + (f"\n— {cite}" if cite else "")


def _list_text(block: dict[str, Any]) -> str:
    items = [_text(item) for item in block.get("items") or []]
    if block.get("ordered") is True:
        return "\n".join(f"{n}. {item}" for n, item in enumerate(items, 1))
    return "\n".join(f"• {item}" for item in items)


TEXT = renderers("feeds' plain text", {
    "paragraph": lambda block: _text(block.get("text")),
    "heading": lambda block: _text(block.get("text")),
    "quote": _quote_text,
    "list": _list_text,
    "image": lambda block: " — ".join(_text(block[k]) for k in ("caption", "credit")
                                      if _text(block.get(k)).strip()),
    "embed": lambda block: _safe_url(block.get("url")) or "",
})


def _block_text(block: Any) -> str:
    kind = kind_of(block)
    return TEXT[kind.name](block) if kind is not None else ""


def body_text(body: list[dict[str, Any]]) -> str:
    """The body as plain text, blocks separated by a blank line."""
    return "\n\n".join(text for text in map(_block_text, body or []) if text)


# --- XML ---------------------------------------------------------------------------------


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = _text(text)
    return element


def _document(root: ET.Element) -> bytes:
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
    _sub(feed, "id", site.home_url)
    _sub(feed, "title", site.title, type="text")
    _sub(feed, "updated", _newest(articles))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=_text(feed_url))
    _sub(feed, "link", rel="alternate", type="text/html", href=_text(site.home_url))
    if any(not _authors(article) for article in articles):
        # RFC 4287 4.1.1: a feed names an author unless every entry does
        _sub(_sub(feed, "author"), "name", site.title)

    for article in articles:
        url = site.url_for(_text(article.get("slug")))
        entry = _sub(feed, "entry")
        if language is None and _language(article):
            entry.set(XML_LANG, _language(article) or "")
        _sub(entry, "id", url)
        _sub(entry, "title", article.get("title"), type="text")
        _sub(entry, "link", rel="alternate", type="text/html", href=url)
        _sub(entry, "published", _published(article))
        _sub(entry, "updated", _updated(article))
        for person in _authors(article):
            author = _sub(entry, "author")
            _sub(author, "name", person["name"])
            if "url" in person:
                _sub(author, "uri", person["url"])
        for tag in _tags(article):
            _sub(entry, "category", term=tag)
        summary = _text(article.get("summary")).strip()
        if summary:
            _sub(entry, "summary", summary, type="text")
        _sub(entry, "content", body_html(article.get("body") or []), type="html")
    return _document(feed)


def json_feed(site: Site, articles: list[dict[str, Any]], feed_url: str) -> dict[str, Any]:
    """A JSON Feed 1.1 of `articles` (newest first), served from `feed_url`, as a plain dict."""
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": _text(site.title),
        "home_page_url": _text(site.home_url),
        "feed_url": _text(feed_url),
    }
    language = _uniform_language(articles)
    if language:
        feed["language"] = language
    items = []
    for article in articles:
        url = site.url_for(_text(article.get("slug")))
        body = article.get("body") or []
        item: dict[str, Any] = {"id": url, "url": url, "title": _text(article.get("title"))}
        summary = _text(article.get("summary")).strip()
        if summary:
            item["summary"] = summary
        item["content_html"] = body_html(body)
        item["content_text"] = body_text(body)
        item["date_published"] = _published(article)
        item["date_modified"] = _updated(article)
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


def sitemap(site: Site, articles: list[dict[str, Any]]) -> bytes:
    """A sitemaps.org 0.9 urlset: each article's URL and when it last changed.

    The protocol allows 50,000 URLs in one file; past that the oldest articles are left out
    (the delivery API serves a sitemap index instead, see `sitemap_index`).
    """
    return urlset(site, [(_text(a.get("slug")), _updated(a))
                         for a in articles[:SITEMAP_MAX_URLS]])


def urlset(site: Site, entries: Iterable[tuple[str, int | str]]) -> bytes:
    """A sitemaps.org 0.9 urlset of (slug, last change) pairs, the change as Unix seconds or
    an RFC 3339 time. Written directly rather than through ElementTree: 50,000 URLs must
    take milliseconds, not a tenth of a second."""
    prefix, _, suffix = site.article_url.partition("{slug}")
    head, tail = _xml_text(prefix), _xml_text(suffix)
    once = site.article_url.count("{slug}") == 1
    parts = [f'<urlset xmlns="{SITEMAP_NS}">']
    for slug, changed in entries:
        if once and _PLAIN_SLUG.fullmatch(slug):
            loc = head + slug + tail
        else:
            loc = _xml_text(site.url_for(slug))
        when = iso(changed) if isinstance(changed, int) else changed
        parts.append(f"<url><loc>{loc}</loc><lastmod>{when}</lastmod></url>")
    parts.append("</urlset>")
    return XML_DECLARATION + "\n".join(parts).encode("utf-8")


def urlset_line(site: Site) -> str | None:
    """One `<url>` of a urlset as a printf format of (slug, last change), for slugs that need
    no encoding; None when the article URL template names the slug more than once."""
    prefix, _, suffix = site.article_url.partition("{slug}")
    if "{slug}" in suffix:
        return None
    loc = _xml_text(prefix).replace("%", "%%") + "%s" + _xml_text(suffix).replace("%", "%%")
    return f"<url><loc>{loc}</loc><lastmod>%s</lastmod></url>"


def urlset_document(lines: str) -> bytes:
    """A urlset around `<url>` elements already written (see `urlset_line`)."""
    return (XML_DECLARATION + f'<urlset xmlns="{SITEMAP_NS}">\n'.encode() + lines.encode()
            + b"\n</urlset>")


def sitemap_index(urls: list[str]) -> bytes:
    """A sitemaps.org 0.9 sitemap index pointing at the sitemap files at `urls`."""
    index = ET.Element("sitemapindex", xmlns=SITEMAP_NS)
    for url in urls:
        _sub(_sub(index, "sitemap"), "loc", url)
    return _document(index)


def _xml_text(text: str) -> str:
    return xml_escape(_text(text), {'"': "&quot;"})
