"""The field types of the article's schemas: printable text, http(s) URLs, strict booleans,
RFC 3339 times in UTC, image sources, and schemas that refuse unknown keys."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from cms.content.media_paths import is_media_path
from cms.times import rfc3339

# Unicode's control characters (category Cc) and surrogates (Cs), as one character class:
# a regex finds the first in C, where a loop over unicodedata.category took most of the time
# of validating a long article
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_BUT_NEWLINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _bad_characters(allow_newlines: bool):
    pattern = _CONTROL_BUT_NEWLINES if allow_newlines else _CONTROL

    def check(value: str) -> None:
        found = pattern.search(value)
        if found is None:
            return
        ch = found.group()
        if unicodedata.category(ch) == "Cs":
            raise ValidationError("Unpaired surrogate characters are not allowed.")
        raise ValidationError(f"Control character U+{ord(ch):04X} is not allowed.")

    return check


class FullMatch(validate.Regexp):
    """Regexp that must match the whole string (`$` alone lets a trailing newline through)."""

    def __call__(self, value: Any) -> Any:
        regex: re.Pattern[str] = self.regex  # type: ignore[assignment]
        if not isinstance(value, str) or regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class StrictBoolean(fields.Boolean):
    """Only JSON true or false (Python would let 1 and 0 pass as True and False)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Text(fields.String):
    """A string of printable text; newlines and tabs only where `multiline` is set."""

    def __init__(self, *, min: int = 1, max: int, multiline: bool = False, **kwargs: Any):
        validators = [validate.Length(min=min, max=max), _bad_characters(multiline)]
        super().__init__(validate=validators, **kwargs)
        self.multiline = multiline


class Url(fields.Url):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            schemes={"http", "https"},
            require_tld=False,
            validate=[validate.Length(max=2000), _bad_characters(False)],
            **kwargs,
        )


class UTCDateTime(fields.AwareDateTime):
    """An RFC 3339 time with an offset, years 1900 to 9998; stored and rendered in UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(UTC)
        except (OverflowError, ValueError) as e:
            raise ValidationError("Not a time this CMS can store.") from e
        if not 1900 <= moment.year <= 9998:
            raise ValidationError("The year must be between 1900 and 9998.")
        return moment

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = self._deserialize(value, attr, obj)
        return rfc3339(value)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class ImageSource(fields.String):
    """An http(s) URL, or the path of a file in the media library (`media/<xx>/<sha256>.<ext>`),
    which delivery turns into its public URL."""

    _url = validate.URL(
        schemes={"http", "https"},
        require_tld=False,
        error="Must be an http(s) URL or a media path (media/<xx>/<sha256>.<ext>).",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=[validate.Length(max=2000), _bad_characters(False)], **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        value = super()._deserialize(value, attr, data, **kwargs)
        return value if is_media_path(value) else self._url(value)
