"""The feed renderers: Atom read back by feedparser, JSON Feed checked against the 1.1 rules,
the sitemap by ElementTree; escaping, UTF-8, no email addresses, and empty feeds."""

from __future__ import annotations

import copy
import dataclasses
import html
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from typing import Any

import feedparser
import jsonschema
import pytest

from cms.delivery.bodies import body_html
from cms.delivery.feeds import Site, atom, json_feed
from cms.delivery.sitemap import sitemap

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
SITE = Site(
    title="The Example Gazette",
    home_url="https://news.example.org/",
    article_url="https://news.example.org/articles/{slug}",
)
FEED_URL = "https://news.example.org/feed.xml"
HOSTILE_TITLE = "<script>alert('x')</script> & Sons \"quoted\" ]]> done"
GERMAN = "Bäckerei Sonnenkorn – Grüße"
PARAGRAPH = 'Bread & <butter> "daily" ]]> — at 5 < 6'

# The JSON Feed 1.1 rules a reader relies on (https://jsonfeed.org/version/1.1).
JSON_FEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": {"type": "string"},
        "home_page_url": {"type": "string", "pattern": "^https?://"},
        "feed_url": {"type": "string", "pattern": "^https?://"},
        "language": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id"],
                "anyOf": [{"required": ["content_html"]}, {"required": ["content_text"]}],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "url": {"type": "string", "pattern": "^https?://"},
                    "title": {"type": "string"},
                    "summary": {"type": "string"},
                    "content_html": {"type": "string"},
                    "content_text": {"type": "string"},
                    "image": {"type": "string", "pattern": "^https?://"},
                    "date_published": {"type": "string", "format": "date-time"},
                    "date_modified": {"type": "string", "format": "date-time"},
                    "language": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "authors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "name": {"type": "string"},
                                "url": {"type": "string", "pattern": "^https?://"},
                                "avatar": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
}


def article(slug: str, title: str, *, published: str, updated: str, **extra: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": title,
        "summary": f"Summary of {title}",
        "summary_generated": False,
        "language": "en",
        "body": [{"type": "paragraph", "text": f"Body of {title}."}],
        "published_at": published,
        "updated_at": updated,
        "revision": "0123456789abcdef0123456789abcdef01234567",
        **extra,
    }


@pytest.fixture
def articles() -> list[dict[str, Any]]:
    """Three articles, newest first; the oldest was edited most recently."""
    return [
        article(
            "bakery-opens",
            GERMAN,
            published="2026-11-28T10:00:00Z",
            updated="2026-11-28T11:30:00Z",
            summary="Frische Brötchen ab 6 Uhr.",
            section="local",
            language="en",
            tags=["Food & Drink", "Läden"],
            authors=[
                {
                    "name": "Jürgen Groß",
                    "url": "https://news.example.org/people/jg",
                    "email": "jgross@news.example.org",
                },
                {"name": "Ana Silva", "email": "ana@example.com", "phone": "555"},
            ],
            image={
                "src": "https://cdn.example.org/bakery.jpg",
                "alt": "Loaves",
                "caption": "The counter",
                "credit": "Photo: K. Lee",
            },
            body=[
                {"type": "paragraph", "text": PARAGRAPH},
                {"type": "heading", "text": "Opening <hours>", "level": 3},
                {"type": "quote", "text": "Best rolls & buns", "cite": "A <neighbour>"},
                {"type": "list", "items": ["Rye", "Spelt & oat"], "ordered": True},
                {
                    "type": "image",
                    "src": "https://cdn.example.org/oven.jpg",
                    "alt": 'The "big" oven',
                    "caption": "Oven",
                    "credit": "K. Lee",
                },
                {"type": "embed", "url": "https://video.example.org/watch?v=1&t=2"},
            ],
        ),
        article(
            "hostile-title",
            HOSTILE_TITLE,
            published="2026-11-27T09:00:00Z",
            updated="2026-11-27T09:00:00Z",
            tags=["<b>bold</b>"],
            authors=[{"name": "Ed <Itor> & Co", "email": "ed@x.org"}],
        ),
        article(
            "old-news",
            "Old news",
            published="2026-11-01T08:00:00Z",
            updated="2026-11-29T12:00:00Z",
        ),
    ]


def parse_atom(document: bytes) -> Any:
    parsed = feedparser.parse(document)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def as_utc(parsed: time.struct_time) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed)


# --- Atom --------------------------------------------------------------------------------


def test_atom_reads_back_with_feedparser(articles):
    document = atom(SITE, articles, FEED_URL)
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    parsed = parse_atom(document)

    assert parsed.feed.title == "The Example Gazette"
    assert parsed.feed.id == "https://news.example.org/"
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links == {"self": FEED_URL, "alternate": "https://news.example.org/"}
    # the newest edit, not the first entry's
    assert as_utc(parsed.feed.updated_parsed) == "2026-11-29T12:00:00Z"

    assert [e.title for e in parsed.entries] == [GERMAN, HOSTILE_TITLE, "Old news"]
    first, second, third = parsed.entries
    url = "https://news.example.org/articles/bakery-opens"
    assert first.link == url and first.id == url
    assert as_utc(first.published_parsed) == "2026-11-28T10:00:00Z"
    assert as_utc(first.updated_parsed) == "2026-11-28T11:30:00Z"
    assert as_utc(third.published_parsed) == "2026-11-01T08:00:00Z"
    assert as_utc(third.updated_parsed) == "2026-11-29T12:00:00Z"
    assert [a.name for a in first.authors] == ["Jürgen Groß", "Ana Silva"]
    assert first.authors[0].href == "https://news.example.org/people/jg"
    assert [a.name for a in second.authors] == ["Ed <Itor> & Co"]
    assert [t.term for t in first.tags] == ["Food & Drink", "Läden"]
    assert [t.term for t in second.tags] == ["<b>bold</b>"]
    assert first.summary == "Frische Brötchen ab 6 Uhr."
    assert first.summary_detail.type == "text/plain"

    content = first.content[0]
    assert content.type == "text/html"
    assert html.escape(PARAGRAPH) in content.value  # the text stays escaped inside the HTML
    assert "<h3>Opening &lt;hours&gt;</h3>" in content.value
    assert "<ol><li>Rye</li><li>Spelt &amp; oat</li></ol>" in content.value


def test_atom_content_is_exactly_the_body_html(articles):
    root = ET.fromstring(atom(SITE, articles, FEED_URL))
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 3
    for entry, source in zip(entries, articles, strict=True):
        content = entry.find(f"{ATOM}content")
        assert content is not None and content.get("type") == "html"
        assert content.text == body_html(source["body"])
        summary = entry.find(f"{ATOM}summary")
        assert summary is not None and summary.get("type") == "text"


def test_a_hostile_title_round_trips_as_text(articles):
    document = atom(SITE, articles, FEED_URL)
    assert b"<script" not in document
    assert b"<b>" not in document
    assert b"]]>" not in document
    root = ET.fromstring(document)
    titles = [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")]
    assert titles[1] == HOSTILE_TITLE
    assert parse_atom(document).entries[1].title == HOSTILE_TITLE


def test_atom_names_a_feed_author_only_when_an_entry_has_none(articles):
    # RFC 4287 4.1.1: every entry must have an author, its own or the feed's
    root = ET.fromstring(atom(SITE, articles, FEED_URL))
    assert root.findtext(f"{ATOM}author/{ATOM}name") == "The Example Gazette"
    authored = [a for a in articles if a.get("authors")]
    root = ET.fromstring(atom(SITE, authored, FEED_URL))
    assert root.find(f"{ATOM}author") is None


def test_atom_language_is_the_feeds_when_uniform_else_each_entrys(articles):
    xml_lang = "{http://www.w3.org/XML/1998/namespace}lang"
    root = ET.fromstring(atom(SITE, articles, FEED_URL))
    assert root.get(xml_lang) == "en"
    articles[1]["language"] = "de-AT"
    root = ET.fromstring(atom(SITE, articles, FEED_URL))
    assert root.get(xml_lang) is None
    assert [e.get(xml_lang) for e in root.iter(f"{ATOM}entry")] == ["en", "de-AT", "en"]
    assert parse_atom(atom(SITE, articles, FEED_URL)).entries[1].title_detail.language == ("de-AT")


def test_characters_xml_cannot_carry_are_dropped(articles):
    articles[0]["title"] = "Bell\x07 and\x00 null\ufffe"
    articles[0]["body"] = [{"type": "paragraph", "text": "tab\there\x1b[0m"}]
    document = atom(SITE, articles, FEED_URL)
    parsed = parse_atom(document)
    assert parsed.entries[0].title == "Bell and null"
    assert "tab\there[0m" in parsed.entries[0].content[0].value
    ET.fromstring(sitemap(SITE, articles))


FEEDS_IN_A_CHILD = """
import json, sys
from cms.delivery.feeds import Site, atom, json_feed
from cms.delivery.sitemap import sitemap
site, articles, feed_url = json.load(sys.stdin)
site = Site(**site)
json.dump([atom(site, articles, feed_url).decode(), json_feed(site, articles, feed_url),
           sitemap(site, articles).decode()], sys.stdout)
"""


def test_output_is_a_function_of_the_input(articles):
    """The same articles give the same bytes in another process, later, with another hash
    seed and with every object's keys in another order; the feed's time is its newest entry's,
    not the clock's; and the input is not changed."""
    before = copy.deepcopy(articles)
    here = [
        atom(SITE, articles, FEED_URL).decode(),
        json_feed(SITE, articles, FEED_URL),
        sitemap(SITE, articles).decode(),
    ]
    assert articles == before
    reordered = [dict(reversed(list(a.items()))) for a in articles]
    child = subprocess.run(
        [sys.executable, "-c", FEEDS_IN_A_CHILD],
        capture_output=True,
        text=True,
        check=True,
        input=json.dumps([dataclasses.asdict(SITE), reordered, FEED_URL]),
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert json.loads(child.stdout) == here
    assert parse_atom(here[0].encode()).feed.updated == "2026-11-29T12:00:00Z"


# --- body HTML ---------------------------------------------------------------------------


def test_body_html_renders_each_block_escaped():
    rendered = body_html(
        [
            {"type": "paragraph", "text": 'a < b & "c"\nnext line'},
            {"type": "heading", "text": "H & h", "level": 4},
            {"type": "quote", "text": "</blockquote><script>", "cite": "Q & A"},
            {"type": "quote", "text": "uncited"},
            {"type": "list", "items": ["<one>", "two"], "ordered": False},
            {
                "type": "image",
                "src": "https://img.example/a.png?x=1&y=2",
                "alt": 'say "hi"',
                "caption": "Cap <tion>",
                "credit": "Cred & it",
            },
            {"type": "image", "src": "https://img.example/b.png", "alt": "", "credit": "Only"},
            {"type": "embed", "url": "https://video.example/v?a=1&b=2"},
        ]
    )
    assert rendered.split("\n") == [
        "<p>a &lt; b &amp; &quot;c&quot;<br>",
        "next line</p>",
        "<h4>H &amp; h</h4>",
        "<blockquote><p>&lt;/blockquote&gt;&lt;script&gt;</p><footer>Q &amp; A</footer>"
        "</blockquote>",
        "<blockquote><p>uncited</p></blockquote>",
        "<ul><li>&lt;one&gt;</li><li>two</li></ul>",
        '<figure><img src="https://img.example/a.png?x=1&amp;y=2" alt="say &quot;hi&quot;">'
        "<figcaption>Cap &lt;tion&gt; — Cred &amp; it</figcaption></figure>",
        '<figure><img src="https://img.example/b.png" alt=""><figcaption>Only</figcaption>'
        "</figure>",
        '<p><a href="https://video.example/v?a=1&amp;b=2">'
        "https://video.example/v?a=1&amp;b=2</a></p>",
    ]
    assert body_html([{"type": "list", "items": ["x"], "ordered": True}]) == ("<ol><li>x</li></ol>")
    assert body_html([]) == ""


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:x",
        "mailto:someone@example.org",
        "//evil.example/x",
        "/relative/path",
        "https://user:pw@evil.example/",
        "https://evil.example/a b",
        "https:///no-host",
        "ftp://files.example/x",
        "",
    ],
)
def test_body_html_emits_only_http_urls(url):
    rendered = body_html(
        [
            {"type": "image", "src": url, "alt": "pic", "caption": "c"},
            {"type": "embed", "url": url},
            {"type": "paragraph", "text": "kept"},
        ]
    )
    assert rendered == "<p>kept</p>"


def test_body_html_leaves_out_unknown_blocks_and_bounds_heading_levels():
    rendered = body_html(
        [
            {"type": "html", "html": "<script>alert(1)</script>"},
            {"type": "heading", "text": "too deep", "level": 9},
            {"type": "heading", "text": "too high", "level": 1},
            "not a block",
        ]
    )
    assert rendered == "<h4>too deep</h4>\n<h2>too high</h2>"


# --- JSON Feed ---------------------------------------------------------------------------


def test_json_feed_is_valid_json_feed_1_1(articles):
    feed = json_feed(SITE, articles, "https://news.example.org/feed.json")
    jsonschema.validate(feed, JSON_FEED_SCHEMA, format_checker=jsonschema.FormatChecker())
    assert json.loads(json.dumps(feed)) == feed
    assert json.loads(json.dumps(feed, ensure_ascii=False).encode("utf-8")) == feed

    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "The Example Gazette"
    assert feed["home_page_url"] == "https://news.example.org/"
    assert feed["feed_url"] == "https://news.example.org/feed.json"
    assert feed["language"] == "en"
    items = feed["items"]
    assert [i["title"] for i in items] == [GERMAN, HOSTILE_TITLE, "Old news"]
    first = items[0]
    assert first["id"] == first["url"] == "https://news.example.org/articles/bakery-opens"
    assert first["summary"] == "Frische Brötchen ab 6 Uhr."
    assert first["content_html"] == body_html(articles[0]["body"])
    assert PARAGRAPH in first["content_text"]
    assert first["date_published"] == "2026-11-28T10:00:00Z"
    assert first["date_modified"] == "2026-11-28T11:30:00Z"
    assert first["authors"] == [
        {"name": "Jürgen Groß", "url": "https://news.example.org/people/jg"},
        {"name": "Ana Silva"},
    ]
    assert first["tags"] == ["Food & Drink", "Läden"]
    assert first["image"] == "https://cdn.example.org/bakery.jpg"
    assert "image" not in items[2] and "authors" not in items[2] and "tags" not in items[2]
    assert items[1]["title"] == HOSTILE_TITLE  # JSON carries the text as it is


def test_json_feed_language_is_the_feeds_when_uniform_else_each_items(articles):
    articles[2]["language"] = "fr"
    feed = json_feed(SITE, articles, FEED_URL)
    assert "language" not in feed
    assert [i["language"] for i in feed["items"]] == ["en", "en", "fr"]


def test_json_feed_drops_unsafe_image_urls(articles):
    articles[0]["image"] = {"src": "javascript:alert(1)", "alt": "x"}
    articles[0]["authors"] = [{"name": "N", "url": "javascript:alert(1)"}]
    item = json_feed(SITE, articles, FEED_URL)["items"][0]
    assert "image" not in item
    assert item["authors"] == [{"name": "N"}]


# --- sitemap -----------------------------------------------------------------------------


def test_sitemap_lists_every_article_with_its_last_change(articles):
    document = sitemap(SITE, articles)
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(document)
    assert root.tag == f"{SITEMAP}urlset"
    urls = root.findall(f"{SITEMAP}url")
    assert len(urls) == len(articles)
    assert [(u.findtext(f"{SITEMAP}loc"), u.findtext(f"{SITEMAP}lastmod")) for u in urls] == [
        ("https://news.example.org/articles/bakery-opens", "2026-11-28T11:30:00Z"),
        ("https://news.example.org/articles/hostile-title", "2026-11-27T09:00:00Z"),
        ("https://news.example.org/articles/old-news", "2026-11-29T12:00:00Z"),
    ]
    for url in urls:
        assert [child.tag for child in url] == [f"{SITEMAP}loc", f"{SITEMAP}lastmod"]


def test_article_urls_escape_the_slug_and_keep_other_braces():
    site = Site(
        title="t",
        home_url="https://x.example/",
        article_url="https://x.example/a/{slug}?ref={feed}&x=1",
    )
    root = ET.fromstring(
        sitemap(
            site,
            [
                article(
                    "a b&c", "T", published="2026-01-01T00:00:00Z", updated="2026-01-01T00:00:00Z"
                )
            ],
        )
    )
    assert root.findtext(f"{SITEMAP}url/{SITEMAP}loc") == (
        "https://x.example/a/a%20b%26c?ref={feed}&x=1"
    )


# --- across all three --------------------------------------------------------------------


def outputs(articles: list[dict[str, Any]]) -> dict[str, bytes]:
    return {
        "atom": atom(SITE, articles, FEED_URL),
        "json": json.dumps(json_feed(SITE, articles, FEED_URL), ensure_ascii=False).encode("utf-8"),
        "json-ascii": json.dumps(json_feed(SITE, articles, FEED_URL)).encode("ascii"),
        "sitemap": sitemap(SITE, articles),
    }


def test_no_email_address_appears_in_any_output(articles):
    # the fixture's authors carry `email` keys; nothing else in it has an @
    assert "@" in json.dumps(articles)
    for name, document in outputs(articles).items():
        assert b"@" not in document, name
        assert b"email" not in document, name
        assert b"555" not in document, name


def test_non_ascii_text_is_utf8(articles):
    found = outputs(articles)
    for name in ("atom", "json"):
        assert GERMAN.encode("utf-8") in found[name], name
        assert "Jürgen Groß".encode() in found[name], name
    assert b"&#" not in found["atom"]  # not character references
    assert parse_atom(found["atom"]).entries[0].title == GERMAN
    assert json.loads(found["json-ascii"])["items"][0]["title"] == GERMAN


def test_an_empty_list_gives_valid_empty_feeds():
    parsed = parse_atom(atom(SITE, [], FEED_URL))
    assert parsed.entries == []
    assert parsed.feed.title == "The Example Gazette"
    assert as_utc(parsed.feed.updated_parsed) == "1970-01-01T00:00:00Z"
    root = ET.fromstring(atom(SITE, [], FEED_URL))
    assert [child.tag for child in root] == [
        f"{ATOM}{tag}" for tag in ("id", "title", "updated", "link", "link")
    ]

    feed = json_feed(SITE, [], FEED_URL)
    jsonschema.validate(feed, JSON_FEED_SCHEMA)
    assert feed["items"] == [] and "language" not in feed
    assert json.loads(json.dumps(feed)) == feed

    root = ET.fromstring(sitemap(SITE, []))
    assert root.tag == f"{SITEMAP}urlset" and len(root) == 0
