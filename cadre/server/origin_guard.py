"""Raw ASGI middleware that keeps web pages from driving the server (CSRF, DNS rebinding,
clickjacking), in front of every endpoint including the raw /v1/route path.

- Host: a DNS-rebinding page reaches the server under the attacker's name, so the `Host`
  header must name the server: the bound address, `localhost`, `127.0.0.1`, `[::1]` or an
  `--allowed-host`. Bound to a wildcard address (0.0.0.0, ::), any IP literal is also
  accepted: a rebinding attack needs a DNS name, and the machine's addresses are many.
  Other names need `--allowed-host NAME` (`.example.com` for its subdomains, `*` for any).
- Cross-origin writes: a page may send a "simple" POST (text/plain, a form, a bodyless
  `fetch(..., {mode: "no-cors"})`) that the browser never preflights. A POST, PUT, PATCH or
  DELETE is refused when the browser says it comes from another origin (`Sec-Fetch-Site`,
  else `Origin` against `Host`), unless that origin is a `--cors-origin`. Clients that are
  not browsers send neither header and pass.
- JSON only: such a request with a body must say `Content-Type: application/json` (or a
  `+json` type); anything else is 415. A browser cannot send that type cross-origin
  without a preflight, which CORS refuses.
- Framing: the dashboard's pages send `X-Frame-Options: DENY` and a CSP
  `frame-ancestors 'none'`, so no page can frame its Load and Unload buttons.
"""
from __future__ import annotations

import ipaddress

from cadre.server.dashboard import is_page_path
from cadre.server.middleware import header, send_error

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})
FRAME_HEADERS = [(b"x-frame-options", b"DENY"), (b"content-security-policy", b"frame-ancestors 'none'")]


def host_name(value: str) -> str | None:
    """The host part of a Host header (lowercase, no port, no trailing dot, IPv6 without
    brackets); None when it is not a well-formed host[:port]."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        name, rest = (value[1:end], value[end + 1:]) if end > 0 else ("", "")
    elif value.count(":") <= 1:
        name, _, port = value.partition(":")
        rest = ":" + port if _ else ""
    else:
        return None
    if not name or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
        return None
    return name.rstrip(".") or None


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def bad_allowed_host(value: str) -> str | None:
    """Why an --allowed-host value is not a host name (None when it is one)."""
    name = value.strip().lower()
    if name == "*":
        return None
    bare = name[1:] if name.startswith(".") else name
    if is_ip(bare.strip("[]")):
        return None
    if not bare or host_name(bare) != bare.rstrip(".") or "/" in bare:
        return f"--allowed-host {value!r} is not a host name (write it like example.com, .example.com or *)"
    return None


class HostPolicy:
    """Which Host names this server answers (see the module's docstring)."""

    def __init__(self, bind_host: str, allowed_hosts: tuple[str, ...] = ()):
        bind = bind_host.strip().strip("[]").lower()
        self.any_host = "*" in allowed_hosts
        self.any_ip = bind in WILDCARD_BINDS
        allowed = [h.strip().strip("[]").lower().rstrip(".") for h in allowed_hosts if h.strip() and h != "*"]
        self.suffixes = tuple(h for h in allowed if h.startswith("."))
        self.names = {*LOOPBACK_NAMES, *(h for h in allowed if not h.startswith("."))}
        if not self.any_ip:
            self.names.add(bind)

    def allows(self, value: str | None) -> bool:
        if value is None or self.any_host:  # no Host at all: HTTP/1.0, never a browser
            return True
        name = host_name(value)
        if name is None:
            return False
        return name in self.names or name.endswith(self.suffixes) or (self.any_ip and is_ip(name))

    def describe(self) -> str:
        names = sorted(self.names) + [f"*{s}" for s in self.suffixes]
        return ", ".join(f"[{n}]" if ":" in n else n for n in names) + (" or an IP address" if self.any_ip else "")


def is_json_type(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def has_body(scope) -> bool:
    length = header(scope, b"content-length")
    return header(scope, b"transfer-encoding") is not None or (length is not None and length.strip() not in ("", "0"))


def cross_origin(scope, allowed_origins: frozenset[str]) -> str | None:
    """Why a browser request comes from another origin (None when it does not): the
    `Sec-Fetch-Site` header where the browser sends one, else `Origin` against `Host`."""
    origin = header(scope, b"origin")
    if origin is not None and origin.rstrip("/").lower() in allowed_origins:
        return None
    site = header(scope, b"sec-fetch-site")
    if site is not None:
        return None if site.lower() in ("same-origin", "none") else f"Sec-Fetch-Site is {site!r}"
    if origin is None:
        return None  # not a browser, or a browser too old to say; it cannot reach here cross-origin with a JSON body
    netloc = origin.partition("://")[2].lower()
    host = (header(scope, b"host") or "").strip().lower()
    return None if netloc and netloc == host else f"Origin {origin[:100]!r} is not this server"


class OriginGuard:
    """403 for a foreign Host or a cross-origin write, 415 for a write whose body is not
    JSON; framing headers on the dashboard's pages."""

    def __init__(self, app, bind_host: str = "127.0.0.1", allowed_hosts: tuple[str, ...] = (),
                 cors_origins: tuple[str, ...] = ()):
        self.app, self.hosts = app, HostPolicy(bind_host, tuple(allowed_hosts))
        self.origins = frozenset(o.rstrip("/").lower() for o in cors_origins)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = header(scope, b"host")
        if not self.hosts.allows(host):
            return await send_error(send, 403, f"Host {(host or '')[:100]!r} is not a name of this server "
                                    f"(it answers {self.hosts.describe()}); start it with "
                                    f"--allowed-host NAME to answer another name", "host_not_allowed")
        if scope["method"] in UNSAFE_METHODS:
            refused = await self._write_refused(scope, send)
            if refused:
                return
        if is_page_path(scope["path"]):
            return await self.app(scope, receive, _with_frame_headers(send))
        await self.app(scope, receive, send)

    async def _write_refused(self, scope, send) -> bool:
        why = cross_origin(scope, self.origins)
        if why is not None:
            await send_error(send, 403, f"cross-origin request refused: {why}; a page on another site "
                             f"may not drive this server (allow an origin with --cors-origin)",
                             "cross_origin_refused")
            return True
        content_type = header(scope, b"content-type")
        if has_body(scope) and not is_json_type(content_type):
            got = (content_type or "no Content-Type")[:100]
            await send_error(send, 415, f"request body must be JSON (Content-Type: application/json), "
                             f"not {got}", "unsupported_media_type")
            return True
        return False


def _with_frame_headers(send):
    async def framed(message):
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *FRAME_HEADERS]
        await send(message)
    return framed
