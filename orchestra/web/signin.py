"""Signing a browser in to ``orchestra serve``: one-time links, browser sessions, the cookie.

The access token (random, new at every start) is the key for scripts, which send it
as ``Authorization: Bearer``; it works for as long as the server runs. A browser never
keeps it. It signs in once, with a one-time code or with the token, and gets a
**browser session** instead, whose value lives in a cookie:

* A **sign-in code** (the link the server prints, the one ``--open`` opens) works
  once. ``--open``'s code also dies :data:`OPEN_CODE_SECONDS` after it was made,
  because a browser keeps its command line (where ``ps`` shows it) for as long as
  it runs. So neither the process list nor the browser's history holds a key.
* A **session value** is derived from the token and a secret drawn at start, and is
  known only to this server process: it is accepted only as the cookie (never as
  ``?token=`` or Bearer), and a restart ends every session. Another local server
  that receives the cookie (cookies ignore ports) learns nothing it could use
  elsewhere, nor after this server stops.
* A session **ends** after ``idle`` seconds (default :data:`DEFAULT_IDLE`, 12 hours)
  without a request, unless one of its pages holds the event stream open. Its
  value is **replaced** at the first request after :func:`rotation` (15 minutes, or
  a quarter of ``idle`` if that is shorter); the replaced value keeps working for
  :func:`grace` (a minute, or half the rotation) so that requests already on their
  way do not fail, and until the browser has sent the new one (in case the answer
  that carried it was lost; each use of the old value carries it again). Then it
  is dead.

Nothing here knows HTTP beyond the cookie header: :mod:`.security` uses it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["DEFAULT_IDLE", "OPEN_CODE_SECONDS", "BrowserSession", "SignIn", "cookie_values",
           "grace", "rotation"]

#: How long a browser session lasts without a request (seconds); ``--session-idle``.
DEFAULT_IDLE = 12 * 3600.0
#: How long the code that ``--open`` hands to the browser stays usable (seconds).
OPEN_CODE_SECONDS = 120.0
#: At most this many browser sessions; signing in beyond it ends the least recently used.
MAX_SESSIONS = 256
#: At most this many unused sign-in codes (the oldest is dropped beyond it).
MAX_CODES = 16


def rotation(idle: float) -> float:
    """After how long a session value is replaced (at its next request)."""
    return min(15 * 60.0, idle / 4)


def grace(idle: float) -> float:
    """How long a replaced value keeps working (requests already on their way)."""
    return min(60.0, rotation(idle) / 2)


def _digest(value: str) -> bytes:
    # Tables are keyed by a hash: looking a guess up reveals nothing about stored values.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


@dataclass(eq=False)
class BrowserSession:
    """One signed-in browser."""

    sid: str
    #: The current cookie value, and the one it replaced (valid until ``previous_until``).
    value: str
    issued: float
    last_used: float
    previous: str | None = None
    previous_until: float = 0.0
    #: Whether the browser has sent the current value yet (so it surely has it).
    current_seen: bool = True
    #: Event streams open on it: a page that is open does not expire.
    streams: int = 0


class SignIn:
    """The token, the sign-in codes and the browser sessions of one server process.

    Thread-safe. ``clock`` is monotonic seconds (the wall clock may jump).
    """

    def __init__(self, token: str, *, idle: float = DEFAULT_IDLE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if idle <= 0:
            raise ValueError("the session lifetime must be positive")
        self.token = token
        self.idle = idle
        self.clock = clock
        # Everything derived below depends on the token and on a secret of this process.
        self._key = hmac.new(token.encode(), secrets.token_bytes(32), hashlib.sha256).digest()
        self._codes: dict[bytes, float | None] = {}  # digest -> deadline (None: none)
        self._by_value: dict[bytes, BrowserSession] = {}  # current and previous values
        self._sessions: dict[str, BrowserSession] = {}
        self._lock = threading.Lock()

    # -- the token ---------------------------------------------------------------------

    def is_token(self, given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), self.token.encode())

    # -- one-time codes ----------------------------------------------------------------

    def new_code(self, lifetime: float | None = None) -> str:
        """A sign-in code that works once (and, with ``lifetime``, only that long)."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            if len(self._codes) >= MAX_CODES:
                del self._codes[next(iter(self._codes))]
            self._codes[_digest(code)] = (None if lifetime is None
                                          else self.clock() + lifetime)
        return code

    def redeem(self, code: str) -> BrowserSession | None:
        """A new session for a valid code, which is then dead; None if it is not one."""
        with self._lock:
            deadline = self._codes.pop(_digest(code), False)
            if deadline is False or (deadline is not None and self.clock() > deadline):
                return None
            return self._open()

    def sign_in(self, token: str) -> BrowserSession | None:
        """A new session for the right token; None for any other value."""
        if not self.is_token(token):
            return None
        with self._lock:
            return self._open()

    # -- sessions ----------------------------------------------------------------------

    def _value(self, sid: str) -> str:
        return hmac.new(self._key, f"session:{sid}:{secrets.token_hex(16)}".encode(),
                        hashlib.sha256).hexdigest()

    def _open(self) -> BrowserSession:
        now = self.clock()
        self._expire(now)
        if len(self._sessions) >= MAX_SESSIONS:
            idle = [s for s in self._sessions.values() if not s.streams] or list(
                self._sessions.values())
            self._close(min(idle, key=lambda s: s.last_used))
        sid = secrets.token_hex(16)
        session = BrowserSession(sid, self._value(sid), now, now)
        self._sessions[sid] = session
        self._by_value[_digest(session.value)] = session
        return session

    def _close(self, session: BrowserSession) -> None:
        self._sessions.pop(session.sid, None)
        self._by_value.pop(_digest(session.value), None)
        if session.previous is not None:
            self._by_value.pop(_digest(session.previous), None)

    def _expire(self, now: float) -> None:
        for session in [s for s in self._sessions.values()
                        if not s.streams and now - s.last_used > self.idle]:
            self._close(session)

    def check(self, values: Iterable[str]) -> tuple[BrowserSession, str | None] | None:
        """The session one of the cookie ``values`` belongs to, and its new value if it
        was just replaced (to be set in the answer); None if none is valid."""
        now = self.clock()
        with self._lock:
            for value in values:
                session = self._by_value.get(_digest(value))
                if session is None:
                    continue
                if not session.streams and now - session.last_used > self.idle:
                    self._close(session)
                    continue
                if value != session.value:  # the value it replaced
                    if now > session.previous_until and session.current_seen:
                        continue
                    session.last_used = now
                    return session, session.value  # sent again: an answer may have been lost
                session.last_used = now
                session.current_seen = True
                if now - session.issued < rotation(self.idle):
                    return session, None
                if session.previous is not None:
                    self._by_value.pop(_digest(session.previous), None)
                session.previous, session.previous_until = value, now + grace(self.idle)
                session.value, session.issued = self._value(session.sid), now
                session.current_seen = False
                self._by_value[_digest(session.value)] = session
                return session, session.value
        return None

    def stream_opened(self, session: BrowserSession) -> None:
        with self._lock:
            session.streams += 1

    def stream_closed(self, session: BrowserSession) -> None:
        with self._lock:
            session.streams = max(0, session.streams - 1)
            session.last_used = self.clock()

    def csrf(self, session: BrowserSession) -> str:
        """The value a session's pages send with writes (the same across rotations)."""
        return hmac.new(self._key, f"csrf:{session.sid}".encode(), hashlib.sha256).hexdigest()

    def is_csrf(self, session: BrowserSession, given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                                   self.csrf(session).encode())


def cookie_values(headers: Iterable[bytes], name: str) -> list[str]:
    """Every value of cookie ``name`` in the ``Cookie`` header(s), leniently.

    Browsers send whatever other local apps set, and a strict parser (such as
    ``http.cookies``) drops every cookie when one of them is malformed. Here each
    ``;``-separated part stands alone: a part without ``=``, with spaces, quotes,
    commas or bytes outside ASCII costs only itself. Several values of one name
    (another path, a stale one) are all returned, in order.
    """
    wanted = name.encode()
    out = []
    for header in headers:
        for part in header.split(b";"):
            key, eq, value = part.partition(b"=")
            if not eq or key.strip() != wanted:
                continue
            value = value.strip()
            if len(value) >= 2 and value.startswith(b'"') and value.endswith(b'"'):
                value = value[1:-1]
            out.append(value.decode("latin-1"))
    return out
