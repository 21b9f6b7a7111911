"""The editors' workbench: Decap CMS at `/admin/`, its generated `config.yml`, the history page
`/admin/history?slug=<slug>`, and `POST /api/v1/decap`, the proxy-backend endpoint it talks to (see
`cms.workbench.decap`).

Decap's files come from the npm package `decap-cms` (pinned in `workbench/package.json`,
installed by `npm ci`); the server serves its `dist/` folder, found at `CMS_WORKBENCH_DIST`.
`/admin/` shows the sign-in page until the browser holds a valid session.

Decap needs a looser Content-Security-Policy than the API's `default-src 'none'`: its bundle
compiles the config's JSON schema with `new Function` ('unsafe-eval') and its styles are
injected at run time ('unsafe-inline' styles). That policy covers the Decap page only; the
sign-in page and everything else keep strict ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, g, redirect, request, send_from_directory, url_for
from flask_smorest import Blueprint
from marshmallow import fields

from cms.auth.tokens import Token
from cms.delivery.preview import DEFAULT_LINK_LIFETIME
from cms.errors import CMSError, StorageUnavailable, TooManyFailures, Unauthorized
from cms.web import frontend
from cms.web.cookies import cookie_token, session_id, sessions
from cms.web.documented import problems
from cms.web.problems import from_cms_error
from cms.web.request_helpers import editor, json_body, requires
from cms.web.schemas import ProblemSchema
from cms.web.services import services
from cms.workbench import config as decap_config
from cms.workbench.decap import Bases, User

HERE = Path(__file__).resolve().parent / "admin"
DEFAULT_DIST = str(
    Path(__file__).resolve().parents[2] / "workbench" / "node_modules" / "decap-cms" / "dist"
)
DECAP_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: http: https:; "
    "connect-src 'self' blob: data:; font-src 'self' data:; frame-src 'self' blob:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SIGNIN_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HISTORY_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


class DecapProblemSchema(ProblemSchema):
    """A problem plus `error`: the line Decap shows its user (the detail and the fields)."""

    error = fields.String()


HTML_PAGE = {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
ANY_JSON = {
    "description": "What the action answers",
    "content": {"application/json": {"schema": {}}},
}
OWN_FILES = {
    "workbench.js",
    "signin.js",
    "workbench.css",
    "preview.js",
    "preview.css",
    "backend.js",
    "roles.js",
    "widgets.js",
    "start.js",
    "history.js",
    "history.css",
    "conflicts.js",
    "conflicts.css",
    "watch.js",
    "translations.js",
    "translations.css",
    "translations-link.js",
}

blp = Blueprint("workbench", __name__, description="The editors' workbench (Decap CMS).")


def _sample() -> str | None:
    """The sample frontend's address when this server serves it, else None."""
    return url_for("frontend.page", name="", _external=True) if frontend.folder() else None


def deploy_preview(slug: str) -> dict[str, Any]:
    """What Decap's "View Preview" opens for a draft: a fresh preview link, in the frontend
    named by `PREVIEW_FRONTEND` (a URL with `{url}` in it), else in the sample frontend when
    this server serves it."""
    link, _ = services().preview_links.make(slug, DEFAULT_LINK_LIFETIME)
    url = url_for("preview.linked", link=link, _external=True)
    sample = _sample()
    # the sample frontend's address ends in "#": Decap appends the collection's preview_path
    # (see `_live`), which then lands in the fragment, which a preview ignores
    configured = services().settings.preview_frontend
    shown_in = configured or (f"{sample}?preview={{url}}#" if sample else None)
    if shown_in:
        url = shown_in.replace("{url}", quote(url, safe=""))
    return {"url": url, "status": "SUCCESS"}


def _live() -> tuple[str | None, str | None]:
    """Decap's `site_url` and the collection's `preview_path`, which make "View Live": the
    article in the sample frontend when that is where previews open, else `SITE_URL`."""
    sample = _sample()
    settings = services().settings
    if sample and not settings.preview_frontend:
        return sample, "#/articles/{{slug}}"
    return settings.site_url, None


def _dist() -> str:
    """Where Decap CMS's built files are (`CMS_WORKBENCH_DIST`, else the npm install's)."""
    return services().settings.workbench_dist or DEFAULT_DIST


def _page(name: str, csp: str) -> Response:
    response = Response((HERE / name).read_bytes(), mimetype="text/html")
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = "no-store"
    return response


def _signed_in() -> Token | None:
    """The session's token, if any; raises TooManyFailures (an address that sent too many
    bad credentials is refused here too, as everywhere a cookie is read)."""
    try:
        return cookie_token()
    except TooManyFailures:
        raise
    except CMSError:
        return None


def _sections() -> tuple[str, ...]:
    """The sections the workbench offers: `SECTIONS`, else every section already used."""
    configured = services().settings.sections
    if configured:
        return tuple(dict.fromkeys(configured))
    return tuple(services().store.reading.sections())


@blp.route("/admin", methods=["GET"])
@blp.doc(
    summary="The workbench (redirects to /admin/)",
    security=[],
    responses={"308": {"description": "Redirect to /admin/"}},
)
def admin_root() -> Any:
    return redirect("/admin/", 308)


@blp.route("/admin/", methods=["GET"])
@blp.doc(
    summary="The workbench: Decap CMS, or the sign-in page without a session",
    security=[],
    responses={"200": HTML_PAGE},
)
@problems(blp, 503)
def admin() -> Any:
    if not _signed_in():
        return _page("signin.html", SIGNIN_CSP)
    if not os.path.isfile(os.path.join(_dist(), "decap-cms.js")):
        raise StorageUnavailable(
            "Decap CMS is not installed on this server: run `npm ci` in workbench/ (make run does)."
        )
    return _page("decap.html", DECAP_CSP)


@blp.route("/admin/history", methods=["GET"])
@blp.doc(
    summary="An article's history in the workbench (`?slug=`): revisions, changes, restore",
    security=[],
    responses={"200": HTML_PAGE},
)
def history_page() -> Any:
    if not _signed_in():
        return _page("signin.html", SIGNIN_CSP)
    return _page("history.html", HISTORY_CSP)  # its script reads `slug` from the address


@blp.route("/admin/translations", methods=["GET"])
@blp.doc(summary="An article's translations (`?slug=`)", security=[], responses={"200": HTML_PAGE})
def translations_page() -> Any:
    # its script reads `slug` from the address; the API calls it makes carry the session
    return _page("translations.html" if _signed_in() else "signin.html", SIGNIN_CSP)


@blp.route("/admin/signout", methods=["GET"])
@blp.doc(
    summary="Where Decap's Log out leads: the sign-in page, which ends the session",
    security=[],
    responses={"200": HTML_PAGE},
)
def signout_page() -> Any:
    return _page("signin.html", SIGNIN_CSP)


@blp.route("/admin/config.yml", methods=["GET"])
@blp.doc(
    summary="Decap's configuration, generated from the article schema",
    security=[],
    responses={
        "200": {
            "description": "Decap's config.yml (JSON, which is YAML)",
            "content": {"text/yaml": {"schema": {"type": "object"}}},
        }
    },
)
def config() -> Any:
    token = _signed_in()
    reader = decap_config.Reader(
        editor=bool(token and token.can("editor")),
        byline=token.name if token else None,
        sections=_sections(),
    )
    site_url, preview_path = _live()
    body = decap_config.config(
        "/api/v1/decap",
        site_url,
        "/admin/signout",
        media=True,
        reader=reader,
        preview_path=preview_path,
    )
    response = Response(json.dumps(body, indent=2) + "\n", mimetype="text/yaml")
    # made for the person signed in (their role, their name as the byline)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Vary"] = "Cookie"
    return response


@blp.route("/admin/<name>", methods=["GET"])
@blp.doc(
    summary="The workbench's scripts and styles",
    security=[],
    responses={
        "200": {
            "description": "A script, style sheet or other file of Decap's",
            "content": {"*/*": {"schema": {"type": "string"}}},
        }
    },
)
@problems(blp, 404)
def asset(name: str) -> Any:
    if name in OWN_FILES:
        response = send_from_directory(HERE, name, max_age=0)
    else:
        # Decap's bundle and the chunks it loads; send_from_directory refuses any path
        # outside the folder
        response = send_from_directory(_dist(), name, max_age=3600)
    response.headers["Content-Security-Policy"] = DECAP_CSP
    return response


def _user() -> User:
    sid = session_id()
    bases = None
    if sid is not None:
        store = sessions()
        bases = Bases(
            lambda slug, blob: store.remember(sid, slug, blob), lambda slug: store.base(sid, slug)
        )
    return User(editor(), g.token.can("editor"), bases)


@blp.route("/api/v1/decap", methods=["POST"])
@requires("author")
@blp.doc(
    summary="Decap CMS's proxy-backend protocol: {action, params}",
    requestBody={
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["action"],
                    "properties": {"action": {"type": "string"}, "params": {"type": "object"}},
                }
            }
        },
        "required": True,
    },
    responses={"200": ANY_JSON},
)
@problems(blp, 400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503, schema=DecapProblemSchema)
def decap() -> Any:
    result = services().decap.handle(json_body(), _user())
    response = current_app.response_class(
        current_app.json.dumps(result), mimetype="application/json"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/api/v1/decap/preview", methods=["POST"])
@requires("author")
@blp.doc(
    summary="The entry being edited, shaped like the delivery API (Decap's preview pane)",
    requestBody={"content": {"application/json": {"schema": {"type": "object"}}}, "required": True},
    responses={"200": ANY_JSON},
)
@problems(blp, 400, 401, 403, 413, 415, 422, 429, schema=DecapProblemSchema)
def render_preview() -> Any:
    result = services().decap.render(json_body())
    response = current_app.response_class(
        current_app.json.dumps(result), mimetype="application/json"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.errorhandler(CMSError)
def decap_problem(e: CMSError) -> Response:
    """The problem+json body, plus `error` for Decap's calls: the line Decap shows its user
    (with the fields)."""
    response = from_cms_error(e)  # with a merge conflict's `conflicts` and ETag
    if not request.path.startswith("/api/v1/decap"):
        return response
    body = json.loads(response.get_data())
    fields = "; ".join(f"{k}: {' '.join(v)}" for k, v in (e.errors or {}).items())
    body["error"] = f"{e.detail} ({fields})" if fields else e.detail
    response.set_data(json.dumps(body))
    if isinstance(e, Unauthorized):
        response.headers["WWW-Authenticate"] = 'Bearer realm="cms"'
    response.headers["Cache-Control"] = "no-store"
    return response
