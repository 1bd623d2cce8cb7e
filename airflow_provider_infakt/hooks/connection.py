"""From an Airflow connection's fields to :class:`~airflow_provider_infakt.api.ClientSettings`.

Plain functions over plain values (no Airflow import), so the sync hook and the async trigger path
read connections the same way, and tests can check the rules without a database.

The connection contract:

- ``host``: the API base URL including its version path (``https://api.infakt.pl/api/v3``,
  ``https://www.infakt.pl/api/v2``); empty means inFakt's real base URL for the chosen version (or
  the v3 sandbox when ``extra.sandbox`` is true). A host without a scheme gets ``https://``. ``port``
  and ``schema`` (the path), where a connection URI puts them, are added to it.
- v3: the API key in ``password``.
- v2: the OAuth consumer key in ``login``, the consumer secret in ``password``, and either
  ``extra.oauth_token`` + ``extra.oauth_token_secret`` or ``extra.xauth_username`` +
  ``extra.xauth_password``.
- ``extra``: ``api_version`` (``v3`` by default), ``format`` (v2: ``json`` or ``xml``), ``sandbox``,
  ``timeout`` (the read timeout, seconds), ``deadline`` (the longest one HTTP request may take in all,
  seconds; by default connect + 2 x read timeout), ``verify`` (true, false or a CA bundle path), ``max_retries``,
  ``allow_http``, ``rate_limit`` (true for inFakt's documented limits, false for none, or
  ``{"get_per_minute": N, "other_per_minute": M}``), ``web_url`` (the invoice page link, read
  by the operator's extra link).
"""

from __future__ import annotations

import dataclasses
import json
import math
import urllib.parse
from collections.abc import Mapping
from typing import Any

from airflow_provider_infakt.api.auth import ApiKeyAuth, OAuth1Auth, XAuth
from airflow_provider_infakt.api.errors import InfaktConfigError
from airflow_provider_infakt.api.settings import ClientSettings, RateLimit
from airflow_provider_infakt.hooks.extras import EXTRA_FIELDS, SECRET_EXTRA_FIELDS

#: inFakt's own base URLs.
PRODUCTION_V3 = "https://api.infakt.pl/api/v3"
SANDBOX_V3 = "https://api.sandbox-infakt.pl/api/v3"
PRODUCTION_V2 = "https://www.infakt.pl/api/v2"


@dataclasses.dataclass(frozen=True)
class UnreadableExtra:
    """A connection's extra text that is not JSON (Airflow's ``extra_dejson`` gives ``{}`` for it).

    :param problem: what the JSON parser said, without the text itself (it may hold secrets).
    """

    problem: str


@dataclasses.dataclass(frozen=True)
class ConnectionFields:
    """The parts of an Airflow connection the provider uses, as plain values.

    :param conn_id: the connection id, for messages.
    :param host: the API base URL (see the module docstring).
    :param login: the v2 consumer key.
    :param password: the v3 API key or the v2 consumer secret.
    :param extra: the extras, as Airflow parsed them (:class:`UnreadableExtra` when their text is no JSON).
    :param port: the port, when not in ``host`` (a connection URI puts it here).
    :param schema: the path of the base URL, when not in ``host`` (a connection URI puts it here).
    """

    conn_id: str
    host: str | None
    login: str | None
    password: str | None
    extra: Mapping[str, Any] | UnreadableExtra
    port: int | None = None
    schema: str | None = None


def extra_of(raw: object, parsed: Mapping[str, Any]) -> Mapping[str, Any] | UnreadableExtra:
    """The extras as :class:`ConnectionFields` takes them: ``parsed`` (Airflow's ``extra_dejson``), or
    :class:`UnreadableExtra` when ``raw`` (the stored text) is not JSON, which Airflow reads as none.

    :param raw: the connection's ``extra`` as stored (a text, or None).
    :param parsed: Airflow's reading of it.
    """
    if parsed or not isinstance(raw, str) or not raw.strip():
        return parsed
    try:
        json.loads(raw)
    except ValueError as exc:
        return UnreadableExtra(
            f"{type(exc).__name__} at line {getattr(exc, 'lineno', '?')}, column {getattr(exc, 'colno', '?')}"
        )
    return parsed


def normalized_extra(extra: Mapping[str, Any] | UnreadableExtra, conn_type: str = "infakt") -> dict[str, Any]:
    """The extras with Airflow 2's form prefix (``extra__infakt__``) removed and empty strings dropped.

    Extras that are not a JSON object (a list, a number: Airflow hands them over as parsed) read as none
    here; :func:`settings_from_connection` refuses them.

    :param extra: the connection's extras.
    :param conn_type: the connection type in the prefix.
    """
    prefix = f"extra__{conn_type}__"
    clean: dict[str, Any] = {}
    if not isinstance(extra, Mapping):
        return clean
    for key, value in extra.items():
        name = key[len(prefix) :] if key.startswith(prefix) else key
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        clean[name] = value
    return clean


def secrets_of(fields: ConnectionFields) -> list[str]:
    """Every secret value of the connection, for masking.

    :param fields: the connection's fields.
    """
    extra = normalized_extra(fields.extra)
    values = [fields.password, *(extra.get(name) for name in SECRET_EXTRA_FIELDS)]
    return [v for v in values if isinstance(v, str) and v]


def _bool(conn_id: str, name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
        return False
    raise InfaktConfigError(f"connection {conn_id!r}: extra.{name}={value!r} is not a boolean; use true or false")


def _number(conn_id: str, name: str, value: Any, *, integer: bool = False, minimum: float = 0) -> float:
    """``value`` as a finite number >= ``minimum`` (a whole one with ``integer``: ``1.5`` is refused, not
    cut to 1), or :class:`InfaktConfigError` naming the field. JSON extras may hold ``NaN`` and
    ``Infinity``: refused too.

    :param conn_id: the connection, for the message.
    :param name: the extra field, for the message.
    :param value: the value as the connection holds it.
    :param integer: whether only whole numbers are accepted.
    :param minimum: the smallest value accepted.
    """
    number: float | None = None
    if not isinstance(value, bool):
        try:
            number = int(value) if integer and not isinstance(value, float) else float(value)
        except (TypeError, ValueError, OverflowError):
            number = None
    if isinstance(number, float) and (not math.isfinite(number) or (integer and not number.is_integer())):
        number = None
    if number is None or number < minimum:
        kind = "an integer" if integer else "a number"
        raise InfaktConfigError(
            f"connection {conn_id!r}: extra.{name}={value!r} is not {kind} >= {minimum:g}"
        ) from None
    return int(number) if integer else number


def _choice(conn_id: str, name: str, value: Any, allowed: tuple[str, ...]) -> str:
    text = str(value).strip()
    if text not in allowed:
        hint = next((a for a in allowed if a.lower() == text.lower()), None)
        suggestion = f"; did you mean {hint!r}?" if hint else ""
        raise InfaktConfigError(
            f"connection {conn_id!r}: extra.{name}={value!r} is not one of "
            f"{', '.join(repr(a) for a in allowed)}{suggestion}"
        )
    return text


def base_url_for(fields: ConnectionFields, api_version: str, sandbox: bool) -> str:
    """The API base URL: the connection's host (with its port and schema, if given apart), or inFakt's
    own for the version.

    A connection URI puts the port and the path in fields of their own: ``infakt://http://:KEY@
    127.0.0.1:8765/api/v3`` has host ``http://127.0.0.1``, port 8765 and schema ``api/v3``; they are
    put back together here. A host without a scheme gets ``https://``.

    :param fields: the connection's fields.
    :param api_version: ``v2`` or ``v3``.
    :param sandbox: whether an empty host means the v3 sandbox.
    :raises InfaktConfigError: for an empty host with ``sandbox`` on v2 (inFakt has no v2 sandbox), a
        port or schema without a host, or a port or path given twice, differently. Messages do not show
        the host: a URL may hold credentials.
    """
    conn_id = fields.conn_id
    host = (fields.host or "").strip()
    port = fields.port
    path = (fields.schema or "").strip().strip("/")
    if not host:
        if port is not None or path:
            raise InfaktConfigError(
                f"connection {conn_id!r}: a port or schema (path) is set but no host; put the whole base URL "
                "in host (e.g. http://127.0.0.1:8765/api/v3), or leave all three empty for inFakt's own"
            )
        if api_version == "v2":
            if sandbox:
                raise InfaktConfigError(
                    f"connection {conn_id!r}: inFakt has no sandbox for API v2; "
                    "set host to your v2 server (e.g. the emulator) or use api_version v3"
                )
            return PRODUCTION_V2
        return SANDBOX_V3 if sandbox else PRODUCTION_V3
    if "://" not in host:
        host = "https://" + host
    try:
        parts = urllib.parse.urlsplit(host.rstrip("/"))
    except ValueError as exc:  # '127.0.0.1[1]': an odd bracket
        raise InfaktConfigError(
            f"connection {conn_id!r}: host is not a URL ({exc}); write it as https://host[:port]/api/v3"
        ) from None
    netloc = parts.netloc
    if port is not None:
        try:
            own_port = parts.port
        except ValueError:  # a port in host that is no number: the settings' URL check names it
            own_port = None
        if own_port is not None and own_port != port:
            raise InfaktConfigError(
                f"connection {conn_id!r}: host has port {own_port} but the port field says {port}; give the port once"
            )
        netloc = netloc if own_port is not None else f"{netloc}:{port}"
    own_path = parts.path.strip("/")
    if path and own_path and own_path != path:
        raise InfaktConfigError(
            f"connection {conn_id!r}: host has the path /{own_path} but schema says /{path}; give the path once"
        )
    full_path = f"/{own_path or path}" if (own_path or path) else ""
    return urllib.parse.urlunsplit((parts.scheme, netloc, full_path, parts.query, parts.fragment))


def web_url_template(fields: ConnectionFields) -> str:
    """The invoice page template for the "inFakt invoice" link: ``extra.web_url``, else inFakt's app
    (its sandbox with ``extra.sandbox``).

    :param fields: the connection's fields.
    """
    # deferred: links imports Airflow (through _compat), and this module stays Airflow-free
    from airflow_provider_infakt.links import DEFAULT_WEB_URL, SANDBOX_WEB_URL

    extra = normalized_extra(fields.extra)
    if "web_url" in extra:
        return str(extra["web_url"])
    sandbox = "sandbox" in extra and _bool(fields.conn_id, "sandbox", extra["sandbox"])
    return SANDBOX_WEB_URL if sandbox else DEFAULT_WEB_URL


def settings_from_connection(fields: ConnectionFields) -> ClientSettings:
    """Client settings for the connection, or :class:`InfaktConfigError` naming what is wrong.

    Error messages name the connection, the field and the allowed values; they never contain a secret.

    :param fields: the connection's fields.
    :raises InfaktConfigError: when a field is missing, unknown or out of its range.
    """
    conn_id = fields.conn_id
    if isinstance(fields.extra, UnreadableExtra):
        # Airflow reads such extras as none at all (it logs and goes on): a sandbox flag or an API version
        # lost that way would send to another server. The text is not shown: it may hold secrets.
        raise InfaktConfigError(
            f"connection {conn_id!r}: extra is not valid JSON ({fields.extra.problem}); Airflow would read it "
            "as no extras at all. Fix the JSON: double quotes around names and texts, braces closed"
        )
    if not isinstance(fields.extra, Mapping):
        raise InfaktConfigError(
            f"connection {conn_id!r}: extra must be a JSON object (name: value pairs), "
            f"got a {type(fields.extra).__name__}"
        )
    extra = normalized_extra(fields.extra)
    unknown = sorted(set(extra) - set(EXTRA_FIELDS))
    if unknown:
        raise InfaktConfigError(
            f"connection {conn_id!r}: unknown extra field(s) {', '.join(unknown)}; known: {', '.join(EXTRA_FIELDS)}"
        )
    api_version = _choice(conn_id, "api_version", extra.get("api_version", "v3"), ("v3", "v2"))
    sandbox = "sandbox" in extra and _bool(conn_id, "sandbox", extra["sandbox"])
    fmt = "json"
    if api_version == "v2":
        fmt = _choice(conn_id, "format", extra.get("format", "json"), ("json", "xml"))
    elif "format" in extra and str(extra["format"]).strip() != "json":
        raise InfaktConfigError(
            f"connection {conn_id!r}: extra.format={extra['format']!r}: API v3 answers in JSON only"
        )

    options: dict[str, Any] = {}
    if "timeout" in extra:
        read = _number(conn_id, "timeout", extra["timeout"], minimum=0.001)
        options["timeout"] = (min(10.0, read), read)
    if "deadline" in extra:
        options["deadline"] = _number(conn_id, "deadline", extra["deadline"], minimum=0.001)
    if "verify" in extra:
        verify = extra["verify"]
        if not isinstance(verify, (bool, str)) and verify not in (0, 1):
            raise InfaktConfigError(
                f"connection {conn_id!r}: extra.verify={verify!r} is neither true, false nor a CA bundle path"
            )
        is_flag = isinstance(verify, bool) or str(verify).strip().lower() in ("true", "false", "1", "0")
        options["verify"] = _bool(conn_id, "verify", str(verify)) if is_flag else verify
    if "max_retries" in extra:
        options["max_retries"] = int(_number(conn_id, "max_retries", extra["max_retries"], integer=True))
    if "allow_http" in extra:
        options["allow_http"] = _bool(conn_id, "allow_http", extra["allow_http"])
    options["rate_limit"] = _rate_limit(conn_id, extra.get("rate_limit", True))
    if "web_url" in extra and not isinstance(extra["web_url"], str):
        raise InfaktConfigError(
            f"connection {conn_id!r}: extra.web_url must be a URL text with {{invoice_id}}, "
            f"got a {type(extra['web_url']).__name__}"
        )
    for name in ("oauth_token", "oauth_token_secret", "xauth_username", "xauth_password"):
        if name in extra and not isinstance(extra[name], str):
            # No value in the message: these may be secrets.
            raise InfaktConfigError(
                f"connection {conn_id!r}: extra.{name} must be a string, got a {type(extra[name]).__name__}"
            )

    base_url = base_url_for(fields, api_version, sandbox)
    auth = _auth(fields, api_version, extra)
    try:
        return ClientSettings(
            base_url=base_url,
            api_version=api_version,  # type: ignore[arg-type]
            auth=auth,
            format=fmt,  # type: ignore[arg-type]
            **options,
        )
    except InfaktConfigError as exc:
        raise InfaktConfigError(f"connection {conn_id!r}: {exc}") from None


def _rate_limit(conn_id: str, value: Any) -> RateLimit | None:
    if isinstance(value, Mapping):
        allowed = {"get_per_minute", "other_per_minute"}
        if not set(value) <= allowed:
            raise InfaktConfigError(
                f"connection {conn_id!r}: extra.rate_limit may hold {', '.join(sorted(allowed))} only"
            )
        numbers = {k: int(_number(conn_id, f"rate_limit.{k}", v, integer=True, minimum=1)) for k, v in value.items()}
        default = RateLimit()
        return RateLimit(
            get_per_minute=numbers.get("get_per_minute", default.get_per_minute),
            other_per_minute=numbers.get("other_per_minute", default.other_per_minute),
        )
    return RateLimit() if _bool(conn_id, "rate_limit", value) else None


def _auth(fields: ConnectionFields, api_version: str, extra: Mapping[str, Any]) -> ApiKeyAuth | OAuth1Auth | XAuth:
    conn_id = fields.conn_id
    if api_version == "v3":
        if not fields.password:
            raise InfaktConfigError(
                f"connection {conn_id!r}: API v3 needs the API key in the connection's password field"
            )
        return ApiKeyAuth(fields.password)
    if not fields.login or not fields.password:
        raise InfaktConfigError(
            f"connection {conn_id!r}: API v2 needs the OAuth consumer key in login and the consumer secret in password"
        )
    has_token = "oauth_token" in extra or "oauth_token_secret" in extra
    has_xauth = "xauth_username" in extra or "xauth_password" in extra
    if has_token and has_xauth:
        raise InfaktConfigError(
            f"connection {conn_id!r}: give either extra.oauth_token/oauth_token_secret or "
            "extra.xauth_username/xauth_password, not both"
        )
    if has_token:
        if "oauth_token" not in extra or "oauth_token_secret" not in extra:
            raise InfaktConfigError(
                f"connection {conn_id!r}: OAuth needs both extra.oauth_token and extra.oauth_token_secret"
            )
        return OAuth1Auth(fields.login, fields.password, str(extra["oauth_token"]), str(extra["oauth_token_secret"]))
    if has_xauth:
        if "xauth_username" not in extra or "xauth_password" not in extra:
            raise InfaktConfigError(
                f"connection {conn_id!r}: xAuth needs both extra.xauth_username and extra.xauth_password"
            )
        return XAuth(fields.login, fields.password, str(extra["xauth_username"]), str(extra["xauth_password"]))
    raise InfaktConfigError(
        f"connection {conn_id!r}: API v2 needs extra.oauth_token and extra.oauth_token_secret, "
        "or extra.xauth_username and extra.xauth_password"
    )
