"""Who may talk to ``orchestra serve``: the token, browser sessions, CSRF, Host and Origin.

The model, in the order a request meets it (an ASGI middleware, so it also
guards the event stream):

1. **Host.** On a loopback address the ``Host`` header must name the server (the
   address it listens on, ``127.0.0.1``, ``localhost`` or ``[::1]``, with its port),
   so a web page whose DNS name is rebound to 127.0.0.1 gets 403 instead of your
   sessions.
2. **Cross-site requests** (``Sec-Fetch-Site: cross-site``) get 403, whatever they carry.
3. **Signing a browser in** (see :mod:`.signin`). ``GET ?code=CODE`` (the one-time
   link the server prints, or the one ``--open`` opens) or ``GET ?token=TOKEN``
   starts a browser session: the answer sets the cookie (``HttpOnly``,
   ``SameSite=Strict``, the port in its name, holding a session value and never the
   token) and redirects (303) to the same local path without the code or token. A
   page opened without a session is a sign-in form that posts the token to
   ``POST /login``, so a second browser signs in without putting the token in its
   address bar or history. A used or wrong code or token: 403.
4. **Credentials** on every other request: ``Authorization: Bearer TOKEN`` (scripts;
   the token works while the server runs) or the session cookie (browsers). None:
   401; a wrong token or a wrong, replaced or expired session: 403. Either way the
   body says what to do (a browser gets the sign-in form) and holds no data.
5. **Writes** (POST and the like) with the cookie also need ``Origin`` equal to the
   server's own origin and the header ``X-Orchestra-CSRF`` with the value the page
   of that session holds. With ``Authorization: Bearer`` they need nothing more: a
   browser cannot attach that header to a cross-site request without a CORS
   preflight, which this server never grants, so only a holder of the token sends
   one. A token in the query is a credential only for signing in (GET).

Nothing sends CORS headers, and every answer carries a strict Content Security
Policy (scripts and styles from the server only, no frames, no inline code).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from orchestra.web.signin import BrowserSession, SignIn, cookie_values

__all__ = ["CSRF_HEADER", "SCOPE_CSRF", "SECURITY_HEADERS", "Guard", "cookie_name",
           "local_location", "new_token"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

CSRF_HEADER = "x-orchestra-csrf"
#: Where the guard leaves, for the app, the CSRF value of the request's browser session.
SCOPE_CSRF = "orchestra.csrf"
LOGIN_PATH = "/login"
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_LOGIN_BODY = 4096

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

_NO_TOKEN = ("open the sign-in link that `orchestra serve` printed, or sign in with its "
             "token; scripts send it as `Authorization: Bearer TOKEN`.")
_EXPIRED = ("wrong or expired sign-in (a link works once; a browser session ends when "
            "the server stops or after a while unused): sign in again with the token "
            "that `orchestra serve` printed.")


def new_token() -> str:
    from secrets import token_urlsafe

    return token_urlsafe(32)


def cookie_name(port: int) -> str:
    # Cookies ignore ports: two servers on one host must not overwrite each other's.
    return f"orchestra_{port}"


def local_location(scope: Scope, drop: tuple[str, ...] = ()) -> str:
    """The request's own path and query (without ``drop``), as a same-origin ``Location``.

    Built from the raw path, percent-encoded, and always starting with exactly one
    ``/`` followed by something else: ``//evil.example/`` or ``/\\evil.example``
    would be read by a browser as another host (an open redirect).
    """
    raw = scope.get("raw_path") or scope.get("path", "/").encode("utf-8", "surrogateescape")
    path = quote(raw.decode("latin-1"), safe="/%:@!$&'()*+,;=-._~")
    location = "/" + path.lstrip("/")
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    rest = [(k, v) for k, v in query if k not in drop]
    return location + (f"?{urlencode(rest)}" if rest else "")


class Guard:
    """The ASGI middleware enforcing the model above in front of ``app``."""

    def __init__(self, app: App, *, signin: SignIn, port: int,
                 hosts: set[str] | None) -> None:
        """``hosts``: the ``Host`` values accepted (``None``: any, for ``--allow-remote``)."""
        self.app = app
        self.signin = signin
        self.cookie = cookie_name(port)
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        method = scope["method"]
        if self.hosts is not None and headers.get("host", "").lower() not in self.hosts:
            await _plain(send, 403, "403 Forbidden: this server only answers to its own "
                         "address.\n")
            return
        if headers.get("sec-fetch-site") == "cross-site":
            await _plain(send, 403, "403 Forbidden: cross-site request.\n")
            return
        if scope.get("path") == LOGIN_PATH and method == "POST":
            await self._login(scope, headers, receive, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        # GET only: a HEAD (a link checker, a prefetch) must not use up a one-time code.
        if method == "GET" and ("code" in query or "token" in query):
            await self._sign_in(scope, headers, query, send)
            return

        session: BrowserSession | None = None
        renewed: str | None = None
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            if not self.signin.is_token(given.strip()):
                await self._refuse(send, scope, headers, 403,
                                   "403 Forbidden: wrong access token.\n")
                return
        else:
            values = cookie_values((v for k, v in scope["headers"] if k.lower() == b"cookie"),
                                   self.cookie)
            found = self.signin.check(values) if values else None
            if found is None:
                status = 403 if values else 401
                text = _EXPIRED if values else _NO_TOKEN
                await self._refuse(send, scope, headers, status,
                                   f"{status} {'Forbidden' if values else 'Unauthorized'}: "
                                   f"{text}\n")
                return
            session, renewed = found
            if method not in _SAFE_METHODS:
                refusal = self._cross_origin(headers, session)
                if refusal:  # the browser still gets a replaced value, or it would lose it
                    await _plain(send, 403, refusal, [] if renewed is None
                                 else [(b"set-cookie", self._cookie(renewed))])
                    return
        scope[SCOPE_CSRF] = self.signin.csrf(session) if session is not None else ""

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = list(SECURITY_HEADERS)
                if renewed is not None:
                    extra.append((b"set-cookie", self._cookie(renewed)))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        streaming = session is not None and scope.get("path") == "/api/stream"
        if streaming and session is not None:
            self.signin.stream_opened(session)  # an open page does not expire
        try:
            await self.app(scope, receive, secured)
        finally:
            if streaming and session is not None:
                self.signin.stream_closed(session)

    # -- pieces ------------------------------------------------------------------------

    def _cross_origin(self, headers: dict[str, str], session: BrowserSession) -> str | None:
        """Why a write carried by the cookie is refused, if it is."""
        origin = headers.get("origin")
        if origin is None or origin.lower() != f"http://{headers.get('host', '')}".lower():
            return "403 Forbidden: writes must come from this server's own page.\n"
        if not self.signin.is_csrf(session, headers.get(CSRF_HEADER, "")):
            return "403 Forbidden: missing or wrong CSRF token.\n"
        return None

    def _cookie(self, value: str) -> bytes:
        return f"{self.cookie}={value}; HttpOnly; SameSite=Strict; Path=/".encode()

    async def _signed_in(self, send: Send, session: BrowserSession, location: str) -> None:
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode("ascii")),
                                (b"set-cookie", self._cookie(session.value)),
                                (b"cache-control", b"no-store"),
                                (b"content-length", b"0"), *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": b""})

    async def _sign_in(self, scope: Scope, headers: dict[str, str], query: dict[str, str],
                       send: Send) -> None:
        """``?code=`` or ``?token=``: a new browser session, then the same page without it."""
        if "code" in query:
            session = self.signin.redeem(query["code"])
        else:
            session = self.signin.sign_in(query["token"])
        if session is None:
            what = "sign-in link" if "code" in query else "access token"
            await self._refuse(send, scope, headers, 403,
                               f"403 Forbidden: this {what} is not valid (a link works once): "
                               "sign in with the token that `orchestra serve` printed.\n")
            return
        await self._signed_in(send, session, local_location(scope, ("code", "token")))

    async def _login(self, scope: Scope, headers: dict[str, str], receive: Receive,
                     send: Send) -> None:
        """``POST /login`` from the sign-in form: the token in the body, never in the URL."""
        # A form posted under "Referrer-Policy: no-referrer" says "Origin: null";
        # cross-site posts are refused above (Sec-Fetch-Site), and signing in needs the token.
        origin = headers.get("origin", "null").lower()
        if origin not in ("null", f"http://{headers.get('host', '')}".lower()):
            await _plain(send, 403, "403 Forbidden: sign in from this server's own page.\n")
            return
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            await _plain(send, 415, "415 Unsupported Media Type: post the sign-in form.\n")
            return
        body = await _read_body(receive, _LOGIN_BODY)
        if body is None:
            await _plain(send, 413, "413 Content Too Large: post the sign-in form.\n")
            return
        fields = dict(parse_qsl(body.decode("latin-1")))
        session = self.signin.sign_in(fields.get("token", "").strip())
        if session is None:
            await _sign_in_page(send, 403, "That is not the access token of this server.")
            return
        await self._signed_in(send, session, "/")

    async def _refuse(self, send: Send, scope: Scope, headers: dict[str, str], status: int,
                      text: str) -> None:
        """A refusal: the sign-in form for a browser opening a page, else plain text."""
        path = scope.get("path", "")
        if (scope["method"] == "GET" and "text/html" in headers.get("accept", "")
                and not path.startswith(("/api/", "/static/"))):
            await _sign_in_page(send, status, text.split(": ", 1)[-1].strip())
        else:
            await _plain(send, status, text)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None if it is larger than ``limit`` or the client left."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _plain(send: Send, status: int, text: str,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await _answer(send, status, b"text/plain; charset=utf-8", text.encode(), extra)


async def _answer(send: Send, status: int, kind: bytes, body: bytes,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind),
                            (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), *SECURITY_HEADERS,
                            *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


_SIGN_IN_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Orchestra: sign in</title>
</head>
<body>
<main>
<h1>Orchestra</h1>
<p id="reason">{reason}</p>
<form method="post" action="/login">
<label>Access token <input type="password" name="token" required autofocus
  autocomplete="off" spellcheck="false" size="48"></label>
<button type="submit">Sign in</button>
</form>
<p>The token is printed by <code>orchestra serve</code> when it starts, below the
one-time sign-in link.</p>
</main>
</body>
</html>
"""


async def _sign_in_page(send: Send, status: int, reason: str) -> None:
    from html import escape

    reason = reason.replace("`", "")  # the texts are written for a terminal
    body = _SIGN_IN_PAGE.format(reason=escape(reason[:1].upper() + reason[1:])).encode()
    await _answer(send, status, b"text/html; charset=utf-8", body)
