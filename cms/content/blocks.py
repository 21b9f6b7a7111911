"""The body's block types: one table that validation, search, summaries, word counts, feeds,
the OpenAPI document and the workbench all walk.

Each `BlockType` names its schema and which of its fields hold text, by what that text is
for: `searched` (full-text search indexes it), `prose` (readable paragraphs a summary may
quote) and `counted` (words counted for reading time). A renderer of blocks (feeds' HTML and
plain text) declares itself with `renderers()`, which refuses at import a table that misses a
type, so a new block type cannot be delivered as nothing by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from marshmallow import Schema, ValidationError, fields, validate

from cms.content.fields import ImageSource, Strict, StrictBoolean, Text, Url

BLOCK_TEXT_MAX = 20000


def _block_type(name: str) -> fields.String:
    return fields.String(required=True, validate=validate.OneOf([name]))


class ParagraphBlock(Strict):
    type = _block_type("paragraph")
    text = Text(required=True, max=BLOCK_TEXT_MAX, multiline=True)


class HeadingBlock(Strict):
    type = _block_type("heading")
    text = Text(required=True, max=300)
    level = fields.Integer(required=True, strict=True, validate=validate.Range(min=2, max=4))


class QuoteBlock(Strict):
    type = _block_type("quote")
    text = Text(required=True, max=BLOCK_TEXT_MAX, multiline=True)
    cite = Text(max=300)


class ListBlock(Strict):
    type = _block_type("list")
    items = fields.List(
        Text(max=BLOCK_TEXT_MAX, multiline=True),
        required=True,
        validate=validate.Length(min=1, max=500),
    )
    ordered = StrictBoolean(required=True)


class ImageBlock(Strict):
    type = _block_type("image")
    src = ImageSource(required=True)
    alt = Text(required=True, max=1000)
    caption = Text(max=2000)
    credit = Text(max=300)
    width = fields.Integer(dump_only=True)
    height = fields.Integer(dump_only=True)
    srcset = fields.String(dump_only=True)


class EmbedBlock(Strict):
    type = _block_type("embed")
    url = Url(required=True)


@dataclass(frozen=True)
class BlockType:
    name: str
    schema: type[Schema]
    searched: tuple[str, ...] = ()
    prose: tuple[str, ...] = ()
    counted: tuple[str, ...] = ()


BLOCKS: dict[str, BlockType] = {
    b.name: b
    for b in (
        BlockType(
            "paragraph", ParagraphBlock, searched=("text",), prose=("text",), counted=("text",)
        ),
        BlockType("heading", HeadingBlock, searched=("text",), counted=("text",)),
        BlockType(
            "quote", QuoteBlock, searched=("text", "cite"), prose=("text",), counted=("text",)
        ),
        BlockType("list", ListBlock, searched=("items",), prose=("items",), counted=("items",)),
        BlockType("image", ImageBlock, searched=("caption", "alt"), counted=("caption",)),
        BlockType("embed", EmbedBlock),
    )
}
_LOADERS = {name: b.schema() for name, b in BLOCKS.items()}


def kind_of(block: Any) -> BlockType | None:
    """The type of `block`, read without a schema (files from plain git may be odd): None for
    anything that is not an object of a known type."""
    kind = block.get("type") if isinstance(block, dict) else None
    return BLOCKS.get(kind) if isinstance(kind, str) else None


def texts(block: Mapping[str, Any], names: tuple[str, ...]) -> list[str]:
    """The strings in `block`'s fields `names`, in order (a list field gives its strings)."""
    found: list[str] = []
    for name in names:
        value = block.get(name)
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            found += [v for v in value if isinstance(v, str)]
    return found


R = TypeVar("R")


def renderers(
    what: str, table: dict[str, Callable[[dict[str, Any]], R]]
) -> dict[str, Callable[[dict[str, Any]], R]]:
    """`table` (block type -> renderer), checked to cover exactly the block types."""
    missing, unknown = set(BLOCKS) - set(table), set(table) - set(BLOCKS)
    if missing or unknown:
        raise TypeError(
            f"{what}: renderers missing for {sorted(missing)}, unknown {sorted(unknown)}"
        )
    return table


class Block(fields.Field):
    """One body block; its `type` picks the schema (documented as a oneOf)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError("Each block must be an object.")
        kind = value.get("type")
        block = BLOCKS.get(kind) if isinstance(kind, str) else None
        if block is None:
            raise ValidationError({"type": [f"Must be one of: {', '.join(BLOCKS)}."]})
        return _LOADERS[block.name].load(value)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return _LOADERS[value["type"]].dump(value)


def block_openapi(converter: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
    """Describe a Block in OpenAPI as a oneOf over the block schemas, told apart by `type`."""
    if not isinstance(field, Block):
        return {}
    refs = {name: f"#/components/schemas/{b.schema.__name__}" for name, b in BLOCKS.items()}
    return {
        "oneOf": [{"$ref": ref} for ref in refs.values()],
        "discriminator": {"propertyName": "type", "mapping": refs},
    }
