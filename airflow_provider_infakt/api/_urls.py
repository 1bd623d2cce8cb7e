"""URLs: origins, the OAuth root of a base URL, loopback hosts, and which redirects are followed.

Standard library only; no module of the package is imported here but errors, the models and decoding
helpers."""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from typing import Final

from ._decode import _cap
from ._models import Request
from .errors import InfaktRedirectError, redact_text

#: A Location every URL parser reads the same way: printable ASCII, no spaces, no backslashes.
_PLAIN_URL: Final = re.compile(r"[!-\[\]-~]+")


def oauth_root(base_url: str) -> str:
    """The site root of an API base URL: ``https://www.infakt.pl/api/v2`` -> ``https://www.infakt.pl``.

    A trailing ``/api/vN`` or ``/vN`` is removed; anything before it is kept.
    """
    parts = urllib.parse.urlsplit(base_url)
    segments = [s for s in parts.path.split("/") if s]
    if segments and segments[-1].lower() in ("v2", "v3"):
        segments.pop()
        if segments and segments[-1].lower() == "api":
            segments.pop()
    path = "/" + "/".join(segments) if segments else ""
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def url_origin(url: str) -> tuple[str, str, int]:
    """(scheme, lower-cased host, port with the scheme's default filled in) of ``url``."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def follow_redirect(request: Request, status: int, location: str | None) -> Request:
    """The request to send after a redirect answer, or raise :class:`InfaktRedirectError`.

    Followed only when the target has the same scheme, host and port as the request (credentials never
    go anywhere else) and the method would not change (307/308 always; 301/302/303 for GET only).

    URL parsers disagree about odd URLs (``http://a:1\\@b:2/`` is host ``b`` to :mod:`urllib.parse`
    and host ``a`` to urllib3), so a ``Location`` that is not plain printable ASCII without
    backslashes, or that carries userinfo (``user@``), is refused; and the new request keeps the
    request's own scheme and host text: only the target's path and query are taken from the
    ``Location``. The clients check the destination once more, with their transport's own parser,
    just before sending (see :func:`wrong_destination`).
    """
    if not location:
        raise InfaktRedirectError(
            f"HTTP {status} from {request.route} without a Location header", status=status, location=None
        )

    def refuse(why: str, shown: str | None) -> InfaktRedirectError:
        return InfaktRedirectError(
            f"HTTP {status} from {request.route} redirects to {shown or 'an unusable Location'}; {why}",
            status=status,
            location=shown,
        )

    text = location.strip(" ")
    if not _PLAIN_URL.fullmatch(text):
        raise refuse(
            "refusing a Location with control characters, spaces, backslashes or non-ASCII characters "
            "(URL parsers read such a Location differently)",
            _cap(redact_text(repr(text)), 120),
        )
    try:
        target = urllib.parse.urljoin(request.full_url, text)
        parts = urllib.parse.urlsplit(target)
        origin = url_origin(target)
    except ValueError:
        raise refuse("refusing an unparseable Location", _cap(redact_text(repr(text)), 120)) from None
    shown = _cap(redact_text(f"{parts.scheme}://{parts.netloc}{parts.path}"), 200)
    if "@" in parts.netloc or origin != url_origin(request.url):
        raise refuse(
            "that is another origin (or carries userinfo); refusing to follow it with credentials. "
            "Check the connection's host (base URL)",
            shown,
        )
    if request.method != "GET" and status not in (307, 308):
        raise refuse(f"following it would turn {request.method} into GET; refusing to follow", shown)
    own = urllib.parse.urlsplit(request.url)
    params = tuple(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    url = urllib.parse.urlunsplit((own.scheme, own.netloc, parts.path or "/", "", ""))
    return dataclasses.replace(request, url=url, params=params)


def wrong_destination(route: str, origin: tuple[str, str, int], scheme: str, host: str, port: int | None) -> str | None:
    """Why the request for ``route`` must not go out, or None when (``scheme``, ``host``, ``port``) --
    its destination as the transport itself parsed the URL -- is ``origin``, the configured base URL's.

    The clients call this for every request right before it goes out, so that no credential reaches
    another host even if :mod:`urllib.parse` and the transport were to read the URL differently.
    """
    scheme = scheme.lower()
    actual = (scheme, host.strip("[]").lower().rstrip("."), port or (443 if scheme == "https" else 80))
    wanted = (origin[0], origin[1].strip("[]").lower().rstrip("."), origin[2])
    if actual == wanted:
        return None
    return (
        f"refusing to send {route} to {actual[0]}://{_cap(actual[1], 80)}:{actual[2]}: credentials go "
        f"only to the configured {wanted[0]}://{wanted[1]}:{wanted[2]}"
    )
