"""The one exception tree of the CMS. Each class carries the HTTP status it maps to.

    CMSError (500)
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
    │   └── ArticleExists
    ├── Gone (410)                  a sync token that names no known state
    ├── PreconditionFailed (412)
    ├── PayloadTooLarge (413)       a media file over CMS_MEDIA_MAX_BYTES
    ├── UnsupportedMediaType (415)
    ├── ValidationFailed (422)      carries {"dotted.field": [messages]}
    ├── PreconditionRequired (428)
    ├── TooManyFailures (429)       an address that sent too many bad tokens; carries retry_after
    └── StorageUnavailable (503)    the repository could not be written or locked

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
