"""One member of a large document, found and replaced in its bytes without parsing the rest.

Orchestra writes a document larger than :data:`~state.persistence.storage.LARGE_DOCUMENT` one entry
per line (:func:`~state.persistence.storage.encode_document`). In those bytes every member of an
*expanded* object (one that holds a non-empty object or array) starts a line of its own,
indented two spaces deeper than the line the object starts on, and no string holds a raw
newline (JSON escapes it). So between the braces of an expanded object whose members are
indented by ``C`` (a newline and spaces), its member ``k`` starts where ``C"k": ``
occurs: a deeper line has a space where that quote is. The member's value ends where the
next member starts (``,C"``) or the object closes. A ``get`` or ``set`` of one member of
a 1 MB state therefore costs a few ``bytes.find`` calls instead of parsing a megabyte
(about 4 ms in a fresh process) and, for a write, encoding one (another 6).

That reasoning holds only for bytes Orchestra wrote in that layout, unchanged since. So
the writer keeps a *stamp* beside such a document (:func:`stamp`: its size and CRC-32,
the layout, and whether it fits its model), and :func:`trust` accepts the bytes it read
only if they match their stamp. A hand edit, a write by something else, a crash between
a document and its stamp, or a stamp that is missing or damaged all lead to the usual
way: parse the whole document. Anything this module cannot do exactly as the usual way
would (an array on the path, a member whose object would fold onto one line, a document
that would shrink below the large-document size...) raises :class:`Untrusted` for the
same fallback; nothing here decides what a change means, only where its bytes go.
"""

from __future__ import annotations

import binascii

from state.jsontext import dumps, loads, string_encoder
from state.persistence.storage import LARGE_DOCUMENT, NotLaidOut, encode_entries

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["LAYOUT", "MISSING", "LaidOut", "Located", "Untrusted", "stamp", "trust"]

#: Names the layout a stamp vouches for; a new layout needs a new name.
LAYOUT = "entries-utf8/1"

#: A root member is first looked for this far from the start, then from the end: a
#: large document is mostly one member, and the others sit before or after it.
_NEAR = 64 * 1024


class Untrusted(Exception):
    """This cannot be done on the bytes alone: read and write the whole document."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: The value of a member that is not there.
MISSING: Any = _Missing()


def stamp(data: bytes, *, checked: bool) -> bytes:
    """The stamp of ``data``, bytes Orchestra wrote in the one-entry-per-line layout;
    ``checked``: the document fits its model (the store's rules said so:
    :meth:`~state.persistence.storage.DocumentRules.fits`)."""
    return dumps({"layout": LAYOUT, "size": len(data), "crc32": binascii.crc32(data),
                  "checked": checked}).encode("ascii")


def trust(data: bytes | None, stamp_bytes: bytes | None, *, checked: bool = True
          ) -> LaidOut | None:
    """``data`` as a :class:`LaidOut` if its stamp vouches for it (and, with ``checked``,
    says it fits its model), else None."""
    if not data or not stamp_bytes:
        return None
    try:
        vouched = loads(stamp_bytes)
    except ValueError:
        return None
    if not (isinstance(vouched, dict) and vouched.get("layout") == LAYOUT
            and vouched.get("size") == len(data)
            and vouched.get("crc32") == binascii.crc32(data)
            and (vouched.get("checked") is True or not checked)):
        return None
    try:
        return LaidOut(data)
    except Untrusted:
        return None


class Located:
    """Where the member ``parts[:depth]`` is: the deepest one along ``parts`` that the
    layout shows, because it is the last one, is missing, or holds its value on one line
    (or is an array) so that whatever is below it has to be parsed."""

    __slots__ = ("depth", "end", "indent", "key", "parts", "span")

    def __init__(self, parts: list[str], key: bytes, indent: bytes, end: int,
                 span: tuple[int, int] | None) -> None:
        self.parts = parts  # the member's path: the names looked for, as far as found
        self.depth = len(parts)
        self.key = key  # the member's name as the layout writes it
        self.indent = indent  # the member's line starts with this
        self.end = end  # where its object closes (a missing member would go there)
        self.span = span  # (start, end) of its value; None: missing


class LaidOut:
    """The bytes of a document in the one-entry-per-line layout, and the changes to
    make to them. Build it through :func:`trust`."""

    def __init__(self, data: bytes) -> None:
        if not (data.startswith(b'{\n  "') and data.endswith(b"\n}\n")):
            raise Untrusted("not the one-entry-per-line layout")
        self.data = data
        self._changes: list[tuple[int, int, bytes]] = []
        #: (member path, new value) of each :meth:`replace`: what the store asks its rules
        #: about before it writes (see ``FileStorage.member_transaction``).
        self.replaced: list[tuple[list[str], Any]] = []

    @property
    def changed(self) -> bool:
        return bool(self._changes)

    # -- finding -----------------------------------------------------------------

    def locate(self, parts: list[str]) -> Located:
        """Find ``parts`` (at least one name) as far as the layout shows it.

        Each search reads only as far as the member it looks for (a missing one: to its
        object's end): a value on one line ends with its line, and an object's end is
        looked for only where it has to be known.
        """
        if not parts:
            raise Untrusted("the whole document")
        data = self.data
        start, indent = 1, b"\n  "  # the root's members
        for i, name in enumerate(parts):
            key = _key(name)
            needle = indent + key + b": "
            closing = indent[:-2] + b"}"  # the end of the object searched
            if i == 0:  # the root's end is known: look from both sides
                end = len(data) - 3
                at = data.find(needle, start, min(end, start + _NEAR))
                if at < 0:
                    at = data.rfind(needle, start, end)
            else:
                at = data.find(needle, start)
                end = data.find(closing, start, len(data) if at < 0 else at)
                if end >= 0:
                    at = -1  # that was a member of some later object
                else:
                    end = data.find(closing, start) if at < 0 else -1
            if at < 0:
                if end < 0:
                    raise Untrusted("an object that does not close")
                return Located(parts[:i + 1], key, indent, end, None)
            value = at + len(needle)
            head = data[value:value + 2]
            if head not in (b"{\n", b"[\n"):  # on one line: it ends with it
                stop = data.find(b"\n", value)
                if data[stop - 1:stop] == b",":
                    stop -= 1
                return Located(parts[:i + 1], key, indent, end, (value, stop))
            if i + 1 == len(parts) or head == b"[\n":
                close = data.find(indent + (b"}" if head == b"{\n" else b"]"), value)
                if close < 0:
                    raise Untrusted("an object that does not close")
                return Located(parts[:i + 1], key, indent, end,
                               (value, close + len(indent) + 1))
            start, indent = value + 1, indent + b"  "
        raise AssertionError("unreachable: the loop returns")

    def value(self, where: Located) -> Any:
        """The value of a located member (:data:`MISSING` if it is not there)."""
        if where.span is None:
            return MISSING
        start, stop = where.span
        try:
            return loads(self.data[start:stop])
        except ValueError:
            raise Untrusted("a value that does not parse") from None

    def member(self, name: str) -> Any:
        """The value of the top-level member ``name`` (:data:`MISSING` if absent)."""
        return self.value(self.locate([name]))

    # -- changing ----------------------------------------------------------------

    def replace(self, where: Located, new: Any) -> None:
        """Give the located member the value ``new`` (adding it after the last member of
        its object if it is missing), laid out as the whole document's encoder would."""
        try:
            text = encode_entries(new, where.indent.decode("ascii")).encode("utf-8")
        except (NotLaidOut, UnicodeEncodeError):
            # A lone surrogate makes the encoder escape the whole document as ASCII.
            raise Untrusted("a value the layout cannot hold as it is") from None
        self.replaced.append((where.parts, new))
        if where.span is None:
            self._changes.append((where.end, where.end, b"," + where.indent + where.key
                                  + b": " + text))
            return
        start, stop = where.span
        if _holds_something(self.data[start:start + 2]) and not (
                isinstance(new, dict | list) and new):
            # This may have been what kept its object on several lines.
            raise Untrusted("its object might fold onto one line")
        self._changes.append((start, stop, text))

    def commit(self) -> bytes:
        """The document's bytes with the changes made; :class:`Untrusted` if that would
        not be the one-entry-per-line layout (a document no longer large)."""
        pieces: list[bytes] = []
        at = 0
        for start, stop, text in sorted(self._changes):
            if start < at:
                raise Untrusted("two changes overlap")
            pieces += (self.data[at:start], text)
            at = stop
        pieces.append(self.data[at:])
        data = b"".join(pieces)
        # The encoder measures the text in characters, without its last newline.
        characters = len(data) if data.isascii() else len(data.decode("utf-8"))
        if characters - 1 <= LARGE_DOCUMENT:
            raise Untrusted("no longer a large document")
        return data


def _key(name: str) -> bytes:
    """A member's name as the encoder writes it."""
    try:
        return string_encoder(False)(name).encode("utf-8")
    except UnicodeEncodeError:
        raise Untrusted("a name the layout cannot hold") from None


def _holds_something(head: bytes) -> bool:
    """Do these first two bytes of a value start a non-empty object or array?"""
    return head[:1] in (b"{", b"[") and head[1:2] not in (b"}", b"]")
