"""Sitemaps (sitemaps.org 0.9): a urlset of the live articles, written directly so that
50,000 URLs take milliseconds, and the sitemap index that points at the files."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from cms.delivery.bodies import clean
from cms.delivery.feeds import XML_DECLARATION, Site, sub, updated, xml_document
from cms.times import iso

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"  # where search engines read hreflang alternates
SITEMAP_MAX_URLS = 50_000  # the protocol's limit for one sitemap file
_PLAIN_SLUG = re.compile(r"[a-z0-9-]+")  # nothing to percent-encode or escape


def sitemap(site: Site, articles: list[dict[str, Any]]) -> bytes:
    """A sitemaps.org 0.9 urlset: each article's URL and when it last changed.

    The protocol allows 50,000 URLs in one file; past that the oldest articles are left out
    (the delivery API serves a sitemap index instead, see `sitemap_index`).
    """
    return urlset(site, [(clean(a.get("slug")), updated(a)) for a in articles[:SITEMAP_MAX_URLS]])


def urlset(
    site: Site,
    entries: Iterable[tuple[str, int | str]],
    alternates: Mapping[str, list[dict[str, Any]]] | None = None,
) -> bytes:
    """A sitemaps.org 0.9 urlset of (slug, last change) pairs, the change as Unix seconds or
    an RFC 3339 time. Written directly rather than through ElementTree: 50,000 URLs must
    take milliseconds, not a tenth of a second. `alternates` (slug: its translation group's
    live members, see `LiveQueries.group_links`) adds an `xhtml:link rel="alternate"
    hreflang` for every member and `x-default` for the group's source."""
    prefix, _, suffix = site.article_url.partition("{slug}")
    head, tail = _xml_text(prefix), _xml_text(suffix)
    once = site.article_url.count("{slug}") == 1
    xhtml = f' xmlns:xhtml="{XHTML_NS}"' if alternates else ""
    parts = [f'<urlset xmlns="{SITEMAP_NS}"{xhtml}>']
    for slug, changed in entries:
        if once and _PLAIN_SLUG.fullmatch(slug):
            loc = head + slug + tail
        else:
            loc = _xml_text(site.url_for(slug))
        when = iso(changed) if isinstance(changed, int) else changed
        links = "".join(_alternates(site, (alternates or {}).get(slug, [])))
        parts.append(f"<url><loc>{loc}</loc><lastmod>{when}</lastmod>{links}</url>")
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
    return (
        XML_DECLARATION
        + f'<urlset xmlns="{SITEMAP_NS}">\n'.encode()
        + lines.encode()
        + b"\n</urlset>"
    )


def sitemap_index(urls: list[str]) -> bytes:
    """A sitemaps.org 0.9 sitemap index pointing at the sitemap files at `urls`."""
    index = ET.Element("sitemapindex", xmlns=SITEMAP_NS)
    for url in urls:
        sub(sub(index, "sitemap"), "loc", url)
    return xml_document(index)


def _alternates(site: Site, members: list[dict[str, Any]]) -> Iterable[str]:
    for member in members:
        href = _xml_text(site.url_for(member["slug"]))
        languages = [member["language"], *(["x-default"] if member["source"] else [])]
        for language in languages:
            yield (f'<xhtml:link rel="alternate" hreflang="{_xml_text(language)}" href="{href}"/>')


def _xml_text(text: str) -> str:
    return xml_escape(clean(text), {'"': "&quot;"})
