"""The parameters of Decap CMS's proxy-backend actions, as marshmallow schemas, and `load`,
which checks an action's `params` against one (a 422 naming each bad field, as `params.<name>`).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from cms.content.document import flatten_errors
from cms.errors import ValidationFailed
from cms.store.workflow import STATUSES

MEDIA_PAGE = 100  # files an answer of getMedia lists (Decap asks for the first page only)
ENTRIES_PAGE = 50  # entries of the collection in one answer, newest first
ENTRIES_PAGE_MAX = 100


class Params(Schema):
    class Meta:
        unknown = "exclude"  # Decap adds fields (branch, cmsLabelPrefix...) as it grows

    branch = fields.String(validate=validate.Length(max=200))


class PathParams(Params):
    path = fields.String(required=True, validate=validate.Length(min=1, max=300))


class FolderParams(Params):
    folder = fields.String(required=True, validate=validate.Length(max=300))
    extension = fields.String(load_default="json", validate=validate.Length(max=20))
    depth = fields.Integer(load_default=1)
    # ours (Decap's own proxy backend sends neither, and gets the first page)
    page = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=10000))
    per_page = fields.Integer(
        strict=True, load_default=ENTRIES_PAGE, validate=validate.Range(min=1, max=ENTRIES_PAGE_MAX)
    )
    search = fields.String(validate=validate.Length(min=1, max=200))


class FileRef(Schema):
    class Meta:
        unknown = "exclude"

    path = fields.String(required=True, validate=validate.Length(min=1, max=300))
    label = fields.String(allow_none=True)


class FilesParams(Params):
    files = fields.List(fields.Nested(FileRef), required=True, validate=validate.Length(max=1000))


class EntryParams(Params):
    collection = fields.String(required=True, validate=validate.Length(max=100))
    slug = fields.String(required=True, validate=validate.Length(min=1, max=200))


class UnpublishedEntryParams(Params):
    id = fields.String(validate=validate.Length(max=300))
    collection = fields.String(validate=validate.Length(max=100))
    slug = fields.String(validate=validate.Length(max=200))


class EntryFileParams(EntryParams):
    path = fields.String(required=True, validate=validate.Length(min=1, max=300))
    id = fields.String(allow_none=True)


class StatusParams(EntryParams):
    newStatus = fields.String(required=True, validate=validate.OneOf(STATUSES))  # noqa: N815


class DataFile(Schema):
    class Meta:
        unknown = "exclude"

    path = fields.String(required=True, validate=validate.Length(min=1, max=300))
    raw = fields.String(required=True, validate=validate.Length(max=1024 * 1024))
    slug = fields.String()
    newPath = fields.String(allow_none=True)  # noqa: N815


class Asset(Schema):
    class Meta:
        unknown = "exclude"

    path = fields.String(required=True)
    content = fields.String(required=True)
    encoding = fields.String()


class Resolve(Schema):
    """Ours: the workbench's answers to a merge conflict it was shown (see
    `cms.store.merging.Resolution`): the ETag the conflict came with, and a side per path."""

    class Meta:
        unknown = "raise"

    etag = fields.String(required=True, validate=validate.Length(min=1, max=100))
    choices = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^/[a-z_]+(/[0-9]+)?$")),
        values=fields.String(validate=validate.OneOf(["theirs", "yours"])),
        required=True,
        validate=validate.Length(max=100),
    )


class PersistOptions(Schema):
    class Meta:
        unknown = "exclude"

    collectionName = fields.String(allow_none=True)  # noqa: N815
    commitMessage = fields.String(allow_none=True)  # noqa: N815
    useWorkflow = fields.Boolean(load_default=True)  # noqa: N815
    status = fields.String(allow_none=True)
    newEntry = fields.Boolean()  # noqa: N815
    resolve = fields.Nested(Resolve)


class PersistParams(Params):
    dataFiles = fields.List(
        fields.Nested(DataFile),  # noqa: N815
        validate=validate.Length(min=1, max=1),
    )
    entry = fields.Nested(DataFile)
    assets = fields.List(fields.Nested(Asset), load_default=list)
    options = fields.Nested(PersistOptions, load_default=dict)
    # ours: the version (draft blob) the form being saved was loaded from, which the workbench's
    # backend.js kept from that load's answer (`version`); the base of the merge
    base = fields.String(validate=validate.Regexp(r"^[0-9a-f]{40}([0-9a-f]{24})?$"))


class DeleteFilesParams(Params):
    paths = fields.List(
        fields.String(validate=validate.Length(max=300)),
        required=True,
        validate=validate.Length(min=1, max=100),
    )


class MediaParams(Params):
    mediaFolder = fields.String(load_default="media")  # noqa: N815
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    perPage = fields.Integer(
        load_default=MEDIA_PAGE,  # noqa: N815
        validate=validate.Range(min=1, max=MEDIA_PAGE),
    )


class PersistMediaParams(Params):
    asset = fields.Nested(Asset, required=True)


def load(schema: type[Schema], params: Any) -> dict[str, Any]:
    """`params` checked against `schema`; raises ValidationFailed naming each bad field."""
    if not isinstance(params, dict):
        raise ValidationFailed(
            "`params` must be a JSON object.", {"params": ["Must be a JSON object."]}
        )
    try:
        return schema().load(params)
    except ValidationError as e:
        errors = {f"params.{k}": v for k, v in flatten_errors(e.messages).items()}
        raise ValidationFailed(f"Invalid {', '.join(errors)}.", errors) from e
