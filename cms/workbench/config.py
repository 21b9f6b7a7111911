"""Decap CMS's `config.yml`, generated from the article schema (`schemas.ArticleFields`) for
the person signed in.

Every article field becomes a Decap field with the same required flag and limits: string
lengths and formats as a `pattern`, list lengths as `min`/`max`, number ranges as `min`/`max`.
The body is a variable-type list (`types`, `typeKey: type`), one type per block schema, under
the name `blocks` (see `files`). The `slug` is not a form field: in Decap it is the entry's
file name, made from the title. Made to fit a newsroom: tags are one comma-separated field,
the section is chosen from a list (`CMS_SECTIONS`, else the sections already used), a new
article's byline is the person signed in, and the form starts with a link to the article's
history. For an author, the collection has no publish or delete controls (`publish`,
`delete`) and `publish_at` is hidden: the server would refuse them anyway.
The document is JSON, which is YAML too, so no YAML library is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields, validate

from cms.content.blocks import BLOCKS, Block
from cms.content.document import ArticleFields
from cms.content.fields import FullMatch, ImageSource, StrictBoolean, Text, Url
from cms.workbench import files

BACKEND = "git_cms"  # Decap's proxy backend with pages and search (/admin/backend.js)
MEDIA_FOLDER = "media"
NOT_IN_FORM = {"slug"}
COMMA_SEPARATED = {"tags"}
LABELS = {
    "publish_at": "Publish at (editors only)",
    "image": "Lead image",
    "src": "Image",
    "alt": "Alternative text",
    "url": "URL",
    "cite": "Cited source",
    # Decap's own i18n (one entry, a file per locale) does not fit an article per
    # language linked by slug, so the link is two plain fields (see docs/translations.md)
    "translation_of": "Translation of (the source article's slug)",
    "translated_from": "Translated from (the source's revision)",
    "authors": "Byline",
}
HINTS = {"tags": "Comma-separated, e.g. harbour, festival, summer."}
HISTORY = {"name": "history", "label": "History", "widget": "history", "required": False}


@dataclass(frozen=True)
class Reader:
    """Who the configuration is for: whether they are an editor, the name a new article's
    byline starts with, and the sections to choose from (none: a free text field)."""

    editor: bool = False
    byline: str | None = None
    sections: tuple[str, ...] = ()


def config(
    proxy_url: str,
    site_url: str | None,
    logout_url: str,
    *,
    media: bool = False,
    reader: Reader | None = None,
    preview_path: str | None = None,
) -> dict[str, Any]:
    """The whole Decap configuration; with `media`, image fields use the media library.
    `site_url` and `preview_path` make Decap's "View Live" link of a live article."""
    reader = reader or Reader()
    form = [HISTORY, *(_fitted(f, reader) for f in schema_fields(ArticleFields(), media))]
    cfg: dict[str, Any] = {
        "backend": {"name": BACKEND, "proxy_url": proxy_url, "branch": "main"},
        "publish_mode": "editorial_workflow",
        "media_folder": MEDIA_FOLDER,
        # the value Decap writes for a library file is then its path, `media/<xx>/<sha>.<ext>`
        "public_folder": MEDIA_FOLDER,
        "logout_redirect_url": logout_url,
        "collections": [
            {
                "name": "articles",
                "label": "Articles",
                "label_singular": "Article",
                "folder": "articles",
                "extension": "json",
                "format": "json",
                "create": True,
                "delete": reader.editor,
                "publish": reader.editor,
                "slug": "{{slug}}",
                "identifier_field": "title",
                "summary": "{{title}}",
                # Decap sorts by loading every entry: the server's order (newest first) instead
                "sortable_fields": [],
                "fields": form,
            }
        ],
    }
    if site_url:
        cfg["site_url"] = site_url
    if preview_path:
        cfg["collections"][0]["preview_path"] = preview_path
    return cfg


def _fitted(out: dict[str, Any], reader: Reader) -> dict[str, Any]:
    """One top-level field made to fit the newsroom and the reader (see the module)."""
    name = out["name"]
    if name in COMMA_SEPARATED:
        # Decap's list widget without `field` is one text box, split at commas
        out = {k: v for k, v in out.items() if k != "field"}
    if name == "section" and reader.sections:
        out = {k: v for k, v in out.items() if k != "pattern"}
        out.update(widget="select", options=list(reader.sections))
    if name == "authors" and reader.byline:
        out["default"] = [{"name": reader.byline}]
    if name == "publish_at" and not reader.editor:
        out = {"name": name, "label": out["label"], "widget": "hidden", "required": False}
    if name == "body":
        out = {**out, "name": files.BLOCKS}
    if name in HINTS:
        out["hint"] = HINTS[name]
    return out


def schema_fields(schema: Schema, media: bool) -> list[dict[str, Any]]:
    """Decap fields for every field a marshmallow schema loads (not those only delivery adds,
    like an image's width), in its order."""
    return [
        field(name, f, media) for name, f in schema.load_fields.items() if name not in NOT_IN_FORM
    ]


def _label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def field(name: str, f: fields.Field, media: bool) -> dict[str, Any]:
    """One Decap field for marshmallow field `f` called `name`."""
    out: dict[str, Any] = {"name": name, "label": _label(name), "required": bool(f.required)}
    if (
        f.load_default is not None
        and not callable(f.load_default)
        and isinstance(f.load_default, str | int | bool)
    ):
        out["default"] = f.load_default
    if isinstance(f, fields.List):
        out.update(_list(f, media))
    elif isinstance(f, fields.Nested):
        children = schema_fields(f.schema, media)
        if not f.required:
            # Decap would demand an optional object's required parts even when the object is
            # left empty; the server still refuses one given without them (e.g. image.alt)
            children = [{**c, "required": False} for c in children]
        out.update({"widget": "object", "collapsed": False, "fields": children})
    elif isinstance(f, StrictBoolean | fields.Boolean):
        out.update({"widget": "boolean", "default": False})
    elif isinstance(f, fields.Integer):
        out.update({"widget": "number", "value_type": "int", **_range(f)})
    elif isinstance(f, fields.DateTime):
        out.update({"widget": "datetime", "picker_utc": True})
    elif isinstance(f, ImageSource):
        out.update(_image_source(f, media))
    elif isinstance(f, fields.String):
        out.update(_string(f))
    else:
        out["widget"] = "string"
    return out


def _list(f: fields.List, media: bool) -> dict[str, Any]:
    inner = f.inner
    out: dict[str, Any] = {"widget": "list", "collapsed": False, **_length(f, "min", "max")}
    if isinstance(inner, Block):
        out.update(
            {
                "typeKey": "type",
                "types": [_block(kind, block.schema(), media) for kind, block in BLOCKS.items()],
            }
        )
    elif isinstance(inner, fields.Nested):
        out["fields"] = schema_fields(inner.schema, media)
    else:
        # one value per item: required (an empty item would be refused), named singularly
        singular = f.name[:-1] if f.name and f.name.endswith("s") else "item"
        out["field"] = {
            **field(singular, inner, media),
            "label": _label(singular),
            "required": True,
        }
    return out


def _block(kind: str, schema: Schema, media: bool) -> dict[str, Any]:
    return {
        "name": kind,
        "label": kind.capitalize(),
        "widget": "object",
        "collapsed": False,
        "fields": [field(n, f, media) for n, f in schema.load_fields.items() if n != "type"],
    }


def _length(f: fields.Field, low: str, high: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for v in f.validators:
        if isinstance(v, validate.Length):
            if v.min:
                out[low] = v.min
            if v.max is not None:
                out[high] = v.max
    return out


def _range(f: fields.Field) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for v in f.validators:
        if isinstance(v, validate.Range):
            if v.min is not None:
                out["min"] = v.min
            if v.max is not None:
                out["max"] = v.max
    return out


def _image_source(f: fields.String, media: bool) -> dict[str, Any]:
    """An image's `src`: an http(s) URL or a library path; with the media library, Decap's
    image widget (upload, choose from the library, or give a URL)."""
    high = _length(f, "min", "max").get("max")
    # `media/...`: a library path, or a new upload's name until the server stores it
    pattern = [
        f"^(?=.{{0,{high}}}$)(https?://|media/)\\S+$",
        "Must be an http or https URL, or an image of the media library.",
    ]
    if media:
        # no pattern: Decap tests it against an upload's value before the upload has its
        # final path (and fails); the server checks the value it gets
        return {"widget": "image", "choose_url": True}
    return {"widget": "string", "pattern": pattern}


def _string(f: fields.String) -> dict[str, Any]:
    """A string or text widget with one `pattern` (Decap takes one) holding every rule."""
    multiline = isinstance(f, Text) and f.multiline
    lengths = _length(f, "min", "max")
    low, high = lengths.get("min", 0), lengths.get("max")
    any_char = r"[\s\S]" if multiline else "."
    size = f"{any_char}{{{low},{high if high is not None else ''}}}"
    if isinstance(f, Url):
        regex, what = r"https?://\S+", "an http or https URL"
        hint = f"Must be {what}, at most {high} characters."
        pattern = f"^(?={size}$){regex}$"
    else:
        shapes = [str(v.regex.pattern) for v in f.validators if isinstance(v, FullMatch)]
        if shapes:
            shape = shapes[0].removeprefix("^").removesuffix("$")
            pattern = f"^(?={size}$){shape}$"
            hint = f"Must match {shape}, {_span(low, high)}."
        else:
            pattern = f"^{size}$"
            hint = f"Must be {_span(low, high)}."
    return {"widget": "text" if multiline else "string", "pattern": [pattern, hint]}


def _span(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low} characters"
    return f"{low} to {high} characters" if low else f"at most {high} characters"
