"""Who may talk to ``orchestra serve``: the access token, the cookie, CSRF, Host and Origin.

The model, in the order a request meets it (an ASGI middleware, so it also
guards the event stream):

1. **Host.** On a loopback address the ``Host`` header must name the server
   (``127.0.0.1``, ``localhost`` or ``[::1]`` with its port), so a web page whose
   DNS name is rebound to 127.0.0.1 gets 403 instead of your sessions.
2. **Token.** A random token (:func:`new_token`, 256 bits) is printed in the URL.
   ``?token=`` with the right value sets a cookie (HttpOnly, SameSite=Strict, the
   port in its name) and redirects to the same URL without the token, so it stays
   out of the history and the Referer. After that the cookie is the key; scripts
   may send ``Authorization: Bearer TOKEN``. No token: 401; a wrong one: 403.
   Either way the body says what to do and holds no data.
3. **Cross-site requests** (``Sec-Fetch-Site: cross-site``) get 403, whatever they carry.
4. **Writes** (POST and the like) also need ``Origin`` equal to the server's own
   origin and the header ``X-Orchestra-CSRF`` with a value derived from the token,
   which only the page served to an authorised browser contains.

Nothing sends CORS headers, and every answer carries a strict Content Security
Policy (scripts and styles from the server only, no frames, no inline code).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = ["SECURITY_HEADERS", "Guard", "csrf_token", "new_token"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

CSRF_HEADER = "x-orchestra-csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD"})

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy",
     b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(token: str) -> str:
    """The value pages send with writes: derived from the token, useless without a page."""
    return hmac.new(token.encode(), b"orchestra-csrf", hashlib.sha256).hexdigest()


def cookie_name(port: int) -> str:
    # Cookies ignore ports: two servers on one host must not overwrite each other's.
    return f"orchestra_{port}"


class Guard:
    """The ASGI middleware enforcing the model above in front of ``app``."""

    def __init__(self, app: App, *, token: str, port: int, hosts: set[str] | None) -> None:
        """``hosts``: the ``Host`` values accepted (``None``: any, for ``--allow-remote``)."""
        self.app = app
        self.token = token
        self.csrf = csrf_token(token)
        self.cookie = cookie_name(port)
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _plain(send, *refusal)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if "token" in query and scope["method"] in _SAFE_METHODS:
            await self._trade_token(scope, query, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, secured)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        if self.hosts is not None and headers.get("host", "").lower() not in self.hosts:
            return 403, "403 Forbidden: this server only answers to its own address.\n"
        if headers.get("sec-fetch-site") == "cross-site":
            return 403, "403 Forbidden: cross-site request.\n"
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        given = query.get("token") or _bearer(headers) or _cookie(headers, self.cookie)
        if not given:
            return 401, ("401 Unauthorized: open the URL that `orchestra serve` printed; "
                         "it carries the access token.\n")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return 403, "403 Forbidden: wrong or expired access token; use the URL printed.\n"
        if scope["method"] not in _SAFE_METHODS:
            origin = headers.get("origin")
            expected = {f"http://{headers.get('host', '')}".lower()}
            if origin is None or origin.lower() not in expected:
                return 403, "403 Forbidden: writes must come from this server's own page.\n"
            if not hmac.compare_digest(headers.get(CSRF_HEADER, "").encode(),
                                       self.csrf.encode()):
                return 403, "403 Forbidden: missing or wrong CSRF token.\n"
        return None

    async def _trade_token(self, scope: Scope, query: dict[str, str], send: Send) -> None:
        """Token in the URL: set the cookie, send the browser to the URL without it."""
        rest = {k: v for k, v in query.items() if k != "token"}
        location = scope.get("path", "/") + (f"?{urlencode(rest)}" if rest else "")
        cookie = (f"{self.cookie}={self.token}; HttpOnly; SameSite=Strict; Path=/")
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode("latin-1", "replace")),
                                (b"set-cookie", cookie.encode()),
                                (b"cache-control", b"no-store"),
                                (b"content-length", b"0"), *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": b""})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _bearer(headers: dict[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _cookie(headers: dict[str, str], name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is simply no cookie
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})
