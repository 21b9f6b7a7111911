"""The one exception tree of the CMS. A class HTTP has a word for carries that status; the
store's errors about the revision a write changes are named for what went wrong and carry
none: the HTTP edge (`cms.web.problems`) answers them with HTTP's preconditions.

    CMSError (500)
    ├── NotBareRepository           the content repository has a working tree (git status
    │                               there would show the CMS's saves as deleted)
    ├── BadRequest (400)
    │   └── InvalidRevision (400)
    ├── Unauthorized (401)
    ├── Forbidden (403)
    │   └── ReadOnlyReplica         a write or management call sent to a read replica
    ├── NotFound (404)
    │   ├── ArticleNotFound
    │   ├── RevisionNotFound
    │   └── MediaNotFound
    ├── Conflict (409)
    │   ├── ArticleExists
    │   └── MergeConflict           a `Prefer: merge` save whose two sides changed one
    │                               field or block differently (carries the conflicts)
    ├── Gone (410)                  a sync token that names no known state
    ├── PreconditionFailed (412)    If-Match names no current ETag (raised at the HTTP edge)
    ├── PayloadTooLarge (413)       a media file over CMS_MEDIA_MAX_BYTES
    ├── UnsupportedMediaType (415)
    ├── ValidationFailed (422)      carries {"dotted.field": [messages]}
    ├── PreconditionRequired (428)  a write without If-Match (raised at the HTTP edge)
    ├── TooManyFailures (429)       an address that sent too many bad tokens; carries retry_after
    ├── StorageUnavailable (503)    the repository could not be written or locked
    ├── RevisionRequired            a write that does not say which revision it changes
    │                               (answered 428)
    └── StaleRevision               a write to an article changed since the revision it
                                    names (answered 412)

The storage library raises these; the HTTP layer renders any of them as problem+json and the
CLI turns them into a ClickException.
"""

from __future__ import annotations


class CMSError(Exception):
    status = 500
    title = "Internal Server Error"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class NotBareRepository(CMSError):
    """The repository has a working tree, or a linked worktree with `main` or `published`
    checked out. The CMS moves branches without touching any working tree, so there its
    saves would show as deleted files and `git commit -a` would delete them."""


class BadRequest(CMSError):
    status = 400
    title = "Bad Request"


class InvalidRevision(BadRequest):
    pass


class Unauthorized(CMSError):
    status = 401
    title = "Unauthorized"


class Forbidden(CMSError):
    status = 403
    title = "Forbidden"


class ReadOnlyReplica(Forbidden):
    pass


class NotFound(CMSError):
    status = 404
    title = "Not Found"


class ArticleNotFound(NotFound):
    pass


class RevisionNotFound(NotFound):
    pass


class MediaNotFound(NotFound):
    pass


class Conflict(CMSError):
    status = 409
    title = "Conflict"


class ArticleExists(Conflict):
    pass


class MergeConflict(Conflict):
    """Both editors changed the same field or body block differently: nothing was saved.
    `conflicts` are `{path, base, theirs, yours, theirs_by, theirs_revision}`; `etag` is the
    current one, to send with the resolved save."""

    def __init__(self, detail: str, conflicts: list[dict[str, object]], etag: str) -> None:
        super().__init__(
            detail,
            {
                c["path"]: ["Changed by both sides."]  # type: ignore[misc]
                for c in conflicts
            },
        )
        self.conflicts = conflicts
        self.etag = etag


class RefMoved(Conflict):
    """A branch no longer points where a write expected; `current` is where it points.

    Internal to the write loop, which plans the write again on the new tip; it reaches a caller
    only as a conflict nobody planned for."""

    def __init__(self, current: str | None) -> None:
        super().__init__(f"The branch moved to {current} meanwhile.")
        self.current = current


class Gone(CMSError):
    status = 410
    title = "Gone"


class PreconditionFailed(CMSError):
    status = 412
    title = "Precondition Failed"


class PayloadTooLarge(CMSError):
    status = 413
    title = "Content Too Large"


class UnsupportedMediaType(CMSError):
    status = 415
    title = "Unsupported Media Type"


class ValidationFailed(CMSError):
    status = 422
    title = "Unprocessable Content"


class PreconditionRequired(CMSError):
    status = 428
    title = "Precondition Required"


class TooManyFailures(CMSError):
    """Too many failed attempts from one client; `retry_after`: seconds until it may retry."""

    status = 429
    title = "Too Many Requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class StorageUnavailable(CMSError):
    status = 503
    title = "Service Unavailable"


class RevisionRequired(CMSError):
    """A write to an existing article that does not say which revision of it the writer read
    (the etag it had), so the store cannot tell whether it would undo someone's change."""


class StaleRevision(CMSError):
    """A write to an article that was changed since the revision the writer read: it is
    refused, and the writer reloads and retries."""
