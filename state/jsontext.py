"""JSON text in and out on the C accelerator alone, without importing :mod:`json`.

``import json`` loads ``json.decoder``, ``json.scanner`` and ``json.encoder``, and with
them ``re`` (which loads ``enum``, ``functools``, ``collections``...) and compiles the
decoder's patterns: about as much as the rest of a hook event (bench/README.md). What
reading and writing JSON needs is in the C module ``_json``, which ``json`` itself uses:
its scanner parses a value, its encoder writes one. This module drives them directly, with
the settings ``json.loads`` and ``json.dumps`` use by default, so the results are the same
(a property test compares them on random values):

* :func:`loads` — ``json.loads``: strict (no control characters in strings), ``NaN`` and
  ``Infinity`` accepted, whitespace around the value allowed, anything after it refused;
* :func:`dumps` — ``json.dumps`` without indentation, with its separators (``", "`` and
  ``": "`` unless told) and ``ensure_ascii``;
* :func:`dumps_indented` — ``json.dumps(value, indent=N)``, byte for byte: the C encoder
  cannot indent, so the layout is written here and every leaf (string, number, literal)
  comes from the C encoder.

An error is a :class:`ValueError` as with ``json`` (a malformed text raises ``json``'s own
``JSONDecodeError``: the C scanner needs ``json.decoder`` loaded to word it, so a text it
refuses is parsed again by ``json``, which only a failing parse pays for);
a value that is not JSON raises :class:`TypeError`, a value nested too deeply
:class:`RecursionError`. Where ``_json`` is missing (another Python implementation), the
same functions run on :mod:`json`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["c_encoder", "dumps", "dumps_indented", "loads", "string_encoder"]

_WHITESPACE = " \t\n\r"
#: How UTF-16 and UTF-32 texts start (byte order marks): json.loads decodes them.
_WIDE = (b"\xff\xfe", b"\xfe\xff")
_CONSTANTS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


class _Context:
    """What the C scanner reads from ``json.JSONDecoder`` (the defaults of ``json.loads``)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__
    memo: dict[str, str] = {}  # (the C scanner keeps its own)


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None  # type: ignore[assignment]

if _json is not None:
    _scan = _json.make_scanner(_Context())  # type: ignore[arg-type]
    _ascii = _json.encode_basestring_ascii
    _unicode = _json.encode_basestring
    _encoders: dict[tuple[bool, str, str], Any] = {}

    def _encoder(ensure_ascii: bool, item_sep: str, key_sep: str) -> Any:
        key = (ensure_ascii, item_sep, key_sep)
        found = _encoders.get(key)
        if found is None:
            # markers None: no check for circular references (JSON data has none; a cycle
            # ends in RecursionError instead of ValueError)
            found = _encoders[key] = _json.make_encoder(
                None, _not_json, _ascii if ensure_ascii else _unicode, None, key_sep,
                item_sep, False, False, True)
        return found

    def loads(text: str | bytes | bytearray) -> Any:
        """The value of one JSON text (``bytes``: UTF-8, with or without a byte order mark),
        as ``json.loads``."""
        if not isinstance(text, str):
            raw = bytes(text)
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            elif raw[:2] in _WIDE or (len(raw) >= 2 and (raw[0] == 0 or raw[1] == 0)):
                import json  # UTF-16 or UTF-32, which json.loads recognises too: rare

                return json.loads(raw)
            # as json.loads: an encoded lone surrogate is read as that surrogate
            text = raw.decode("utf-8", "surrogatepass")
        if text.startswith("\ufeff"):
            raise ValueError("Unexpected UTF-8 BOM (decode using utf-8-sig)")
        start = 0
        if text[:1] in _WHITESPACE:
            start = len(text) - len(text.lstrip(_WHITESPACE))
        try:
            value, end = _scan(text, start)
        except StopIteration as exc:
            raise ValueError(_where("Expecting value", text, exc.value)) from None
        except SystemError:
            # The scanner words its errors with json.decoder.JSONDecodeError, taken from
            # sys.modules, and fails without it: json itself then says what is wrong.
            import json

            return json.loads(text)
        if end != len(text) and text[end:].strip(_WHITESPACE):
            end = len(text) - len(text[end:].lstrip(_WHITESPACE))
            raise ValueError(_where("Extra data", text, end))
        return value

    def dumps(value: Any, *, ensure_ascii: bool = True,
              separators: tuple[str, str] = (", ", ": "), sort_keys: bool = False,
              default: Any = None) -> str:
        """``json.dumps(value, ensure_ascii=..., separators=..., sort_keys=...,
        default=...)``."""
        if isinstance(value, str):
            return (_ascii if ensure_ascii else _unicode)(value)
        if sort_keys or default is not None:
            encoder = _json.make_encoder(
                None, _not_json if default is None else default,
                _ascii if ensure_ascii else _unicode, None, separators[1], separators[0],
                sort_keys, False, True)
        else:
            encoder = _encoder(ensure_ascii, separators[0], separators[1])
        return "".join(encoder(value, 0))

    def c_encoder(ensure_ascii: bool = True, separators: tuple[str, str] = (", ", ": "),
                  *, check_circular: bool = False) -> Any:
        """The C encoder ``json.dumps`` would use: ``encoder(value, 0)`` returns the
        chunks of the text (None where ``_json`` is missing). ``check_circular``: a cycle
        raises ``ValueError`` rather than ``RecursionError``."""
        if not check_circular:
            return _encoder(ensure_ascii, separators[0], separators[1])
        return _json.make_encoder({}, _not_json, _ascii if ensure_ascii else _unicode, None,
                                  separators[1], separators[0], False, False, True)

    def string_encoder(ensure_ascii: bool = True) -> Any:
        """The function that writes a string as JSON, quotes included (as ``json``)."""
        return _ascii if ensure_ascii else _unicode

else:  # pragma: no cover
    import json as _std

    def loads(text: str | bytes | bytearray) -> Any:
        if not isinstance(text, str):
            text = bytes(text).decode("utf-8")
        return _std.loads(text)

    def dumps(value: Any, *, ensure_ascii: bool = True,
              separators: tuple[str, str] = (", ", ": "), sort_keys: bool = False,
              default: Any = None) -> str:
        return _std.dumps(value, ensure_ascii=ensure_ascii, separators=separators,
                          sort_keys=sort_keys, default=default)

    def c_encoder(ensure_ascii: bool = True, separators: tuple[str, str] = (", ", ": "),
                  *, check_circular: bool = False) -> Any:
        return None

    def string_encoder(ensure_ascii: bool = True) -> Any:
        from json import encoder

        return encoder.py_encode_basestring_ascii if ensure_ascii else (
            encoder.py_encode_basestring)


def _where(message: str, text: str, pos: int) -> str:
    """``json``'s wording of an error at ``pos``."""
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)
    return f"{message}: line {line} column {column} (char {pos})"


def dumps_indented(value: Any, indent: int = 2, *, ensure_ascii: bool = True) -> str:
    """``json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)``, byte for byte."""
    if _json is None:  # pragma: no cover
        import json as _std

        return _std.dumps(value, indent=indent, ensure_ascii=ensure_ascii)
    parts: list[str] = []
    _write(value, parts, _encoder(ensure_ascii, ",", ": "), " " * indent, "\n", ensure_ascii)
    return "".join(parts)


def _write(value: Any, out: list[str], leaf: Any, step: str, newline: str,
           ensure_ascii: bool) -> None:
    """``value`` as ``json.dumps(indent=...)`` lays it out, at the line start ``newline``."""
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + step
        first = True
        for key, item in value.items():
            out.append("{" + inner if first else "," + inner)
            first = False
            if not isinstance(key, str):  # as json: numbers, booleans and None as keys
                key = _key(key)
            out.append((_ascii if ensure_ascii else _unicode)(key))
            out.append(": ")
            if isinstance(item, dict | list | tuple) and item:
                _write(item, out, leaf, step, inner, ensure_ascii)
            else:
                out.extend(leaf(item, 0))
        out.append(newline + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = newline + step
        first = True
        for item in value:
            out.append("[" + inner if first else "," + inner)
            first = False
            if isinstance(item, dict | list | tuple) and item:
                _write(item, out, leaf, step, inner, ensure_ascii)
            else:
                out.extend(leaf(item, 0))
        out.append(newline + "]")
    else:
        out.extend(leaf(value, 0))


def _key(key: Any) -> str:
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, float):
        return "".join(_encoder(True, ",", ":")(key, 0))
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
