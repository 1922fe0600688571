"""The split verdict, in the container: the candidate runs in one process and its tests in another that never
imports candidate code. Runs nowhere else (stdlib only, the image's Python 3.11).

The tests' process gets a stand-in ``solution`` module whose functions send their arguments to the candidate's
process and return what it answers, both as data in a strict codec: None, bool, int, float (nan and inf
included), complex, str, bytes, list, tuple, dict, set and frozenset, nested, and the standard library's Counter,
OrderedDict, defaultdict (as a dict), deque and re.Match (as its text and span), which references return. Nothing
else crosses, so what the tests compare is never the candidate's object. An object whose ``__eq__`` is always
true, a patched AssertionError, a monkeypatched test module, a report written to the verdict's fd or an early exit
are all in the candidate's own process, where they can only make its own calls fail: the verdict is written by
the tests' process alone.

A candidate's exception reaches the tests as the builtin exception of the same name (so ``pytest.raises(ValueError)``
works), or as ``CandidateError``; a candidate that dies, or a call the tests interrupted (a time limit), leaves every
later call failing with ``CandidateGone``.
"""

import builtins
import collections
import contextlib
import importlib
import json
import os
import re
import struct
import sys
import traceback
import types

MAX_DEPTH = 100
MAX_MESSAGE = 64 << 20
"""Bytes of one message either way; a larger answer is the candidate's error."""
HEADER = struct.Struct("!I")


class CodecError(Exception):
    """A value that may not cross between the candidate and its tests."""


class CandidateError(Exception):
    """The candidate raised something that is not a builtin exception."""


class CandidateGone(Exception):
    """The candidate's process no longer answers: it died, or an earlier call was interrupted."""


class NeedsShared(BaseException):
    """The tests give the candidate something that cannot cross (a callback, an object): these tests must run in
    the candidate's process. A BaseException, so the tests' own handlers let it through."""


SCALARS = frozenset({type(None), bool, float, str})
BIG = 1 << 8000
"""Ints this large cross as hex: JSON writes ints in decimal, which Python caps at 4,300 digits."""


def encode(value, depth=0):
    """``value`` as JSON-ready data. Lists, strs, floats (JSON's NaN and Infinity included), bools, None and ints
    are JSON's own; every other type is an object with one key saying which. Only exact types cross, never a
    subclass (which could compare as it likes)."""
    kind = type(value)
    if kind in SCALARS or (kind is int and -BIG < value < BIG):
        return value
    if kind is list:
        if _flat(value):
            return value  # the common case, checked without a call per item
        return [encode(item, depth + 1) for item in _nested(value, depth)]
    if kind is int:
        return {"i": hex(value)}
    if kind is bytes:
        return {"y": value.hex()}
    if kind is complex:
        return {"j": [value.real, value.imag]}
    if kind in _TAGS:
        items = list(value.items()) if isinstance(value, dict) else list(value)
        if kind in (dict, collections.Counter, collections.OrderedDict, collections.defaultdict):
            items = [[k, v] for k, v in items]
        return {_TAGS[kind]: [encode(item, depth + 1) for item in _nested(items, depth)]}
    if kind is re.Match:
        return {"m": [value.string, list(value.span())]}
    raise CodecError(f"a {kind.__name__}, which is not a plain value (None, bool, int, float, str, bytes, a container)")


_TAGS: dict[type, str] = {
    tuple: "t", set: "S", frozenset: "F", dict: "d",
    collections.Counter: "C", collections.OrderedDict: "O", collections.defaultdict: "D", collections.deque: "Q",
}  # fmt: skip
_TYPES = {tag: kind for kind, tag in _TAGS.items()}


def _flat(items):
    return all(type(item) in SCALARS or (type(item) is int and -BIG < item < BIG) for item in items)


def _nested(items, depth):
    if depth >= MAX_DEPTH:
        raise CodecError("nested too deep")
    return items


def decode(data, depth=0):
    """The value ``encode`` gave; anything else is a CodecError."""
    kind = type(data)
    if kind in SCALARS or kind is int:
        return data
    if depth >= MAX_DEPTH:
        raise CodecError("nested too deep")
    if kind is list:
        return data if _flat(data) else [decode(item, depth + 1) for item in data]
    if kind is not dict or len(data) != 1:
        raise CodecError("not an encoded value")
    ((tag, body),) = data.items()
    try:
        if tag == "i" and type(body) is str:
            return int(body, 16)
        if tag == "y" and type(body) is str:
            return bytes.fromhex(body)
        if tag == "j" and type(body) is list and len(body) == 2 and all(type(x) is float for x in body):
            return complex(*body)
        if tag == "m" and type(body) is list and len(body) == 2 and type(body[0]) is str:
            return Match(body[0], *map(int, body[1]))
        if tag in _TYPES and type(body) is list:
            items = [decode(item, depth + 1) for item in body]
            if tag in "dCOD":
                items = [_pair(item) for item in items]
                return dict(items) if tag == "D" else _TYPES[tag](dict(items))  # a defaultdict's factory stays
            return _TYPES[tag](items)
    except (ValueError, TypeError, OverflowError) as e:  # unhashable keys, bad numbers, wrong shapes
        raise CodecError(f"not an encoded value ({type(e).__name__})") from None
    raise CodecError("not an encoded value")


def _pair(item):
    if type(item) is not list or len(item) != 2:
        raise ValueError("a dict item is a pair")
    return item


class Match:
    """The tests' copy of a ``re.Match`` the candidate returned: the matched text and where, never the object."""

    def __init__(self, string, start, end):
        self.string, self._span = string, (start, end)

    def group(self, *groups):
        if groups not in ((), (0,)):
            raise IndexError("only the whole match crosses")
        return self.string[self._span[0] : self._span[1]]

    def span(self, group=0):
        return self._span

    def start(self, group=0):
        return self._span[0]

    def end(self, group=0):
        return self._span[1]

    def __repr__(self):
        return f"<re.Match object; span={self._span}, match={self.group()!r}>"


# json.dumps and json.loads build an encoder or walk Python wrappers on every call; in a freshly forked candidate
# each object they touch is a page copied, about twice the cost of the call. Their C parts, built once here (in
# the zygote, before any fork), do the same work and touch a third as many pages.
_ENCODER = json.JSONEncoder(check_circular=False)
_make_encoder = getattr(json.encoder, "c_make_encoder", None)  # None without the C accelerator
_encode_json = _make_encoder and _make_encoder(
    None, _ENCODER.default, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True
)
_scan_json = json.decoder.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set in its __init__


def to_json(message):
    """``json.dumps(message, check_circular=False)``, by the C encoder when there is one."""
    return "".join(_encode_json(message, 0)) if _encode_json else _ENCODER.encode(message)


def from_json(data):
    """``json.loads(data)`` for bytes that hold exactly one JSON value, or CodecError."""
    try:
        text = data.decode()
        value, end = _scan_json(text, 0)
    except (ValueError, StopIteration, RecursionError):  # StopIteration: no value at all
        raise CodecError("not a message") from None
    if end != len(text):
        raise CodecError("not a message")  # trailing data
    return value


def send(sock, message):
    data = to_json(message).encode()
    if len(data) > MAX_MESSAGE:
        raise CodecError("too large to cross")
    sock.sendall(HEADER.pack(len(data)) + data)


def receive(sock):
    """The next message, or None at the end of the stream."""
    header = _exactly(sock, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise CodecError("too large to cross")
    data = _exactly(sock, size)
    if data is None:
        return None
    return from_json(data)


def _exactly(sock, size):
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# ---- the candidate's process


def serve(sock, load):
    """Load the candidate (``load()`` returns its module) and answer calls until the tests' process hangs up."""
    try:
        module = load()
    except BaseException as e:  # noqa: BLE001 - any failure to load is the candidate's error
        send(sock, ["load-error", short_trace(e)])
        return
    send(sock, ["ready", exported(module)])
    while (message := receive(sock)) is not None:
        _, name, args, kwargs = message
        try:
            function = vars(module)[name]
            reply = ["return", encode(function(*decode(args), **decode(kwargs)))]
        except CodecError as e:
            reply = ["raise", "CandidateError", f"{name} returned {e}", ""]  # or was given: the tests' own error
        except BaseException as e:  # noqa: BLE001 - SystemExit and friends are the candidate's errors too
            reply = ["raise", type(e).__name__, _message(e), short_trace(e)]
        send(sock, reply)


def exported(module):
    """What the tests may import from the candidate: its functions (by name), its plain values, and the standard
    modules it imported (by name, imported again on the tests' side)."""
    names = {}
    for name, value in list(vars(module).items()):
        if name.startswith("__"):
            continue
        if isinstance(value, types.ModuleType):
            names[name] = ["module", value.__name__]
        elif callable(value):
            names[name] = ["function"]
        else:
            try:
                names[name] = ["value", encode(value)]
            except CodecError:
                continue
    return names


def _message(e):
    try:
        return str(e)[:2000]
    except BaseException:  # noqa: BLE001 - a candidate's __str__ may raise too
        return ""


OWN_DIR = os.path.dirname(os.path.abspath(__file__))


def short_trace(exc):
    """The traceback without the sandbox's own frames (the runner's and these): what a model needs to see to
    repair its code."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.dirname(f.filename) != OWN_DIR][-4:]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    return "".join(lines).strip()[-4000:]


# ---- the tests' process


class Candidate:
    """The tests' end of the line to the candidate's process."""

    def __init__(self, sock):
        self.sock, self.gone = sock, ""
        self.needs_shared = False
        """Set when the tests tried to pass something that cannot cross: only the tests decide this."""

    def hello(self):
        """The candidate's exports, or raises what loading it raised."""
        message = self._receive()
        if message[0] == "load-error":
            self.gone = "it did not load"
            raise CandidateError(message[1])
        if message[0] != "ready" or type(message[1]) is not dict:
            raise CodecError("not a greeting")
        return message[1]

    def call(self, name, args, kwargs):
        if self.gone:
            raise CandidateGone(f"the candidate no longer answers: {self.gone}")
        try:
            request = ["call", name, encode(list(args)), encode(dict(kwargs))]
        except CodecError as e:
            self.needs_shared = True
            raise NeedsShared(str(e)) from None
        try:
            send(self.sock, request)
            message = self._receive()
        except BaseException:  # interrupted (a time limit) or broken: later answers would be out of step
            self.gone = self.gone or "a call was interrupted"
            self.sock.close()
            raise
        if message[0] == "return" and len(message) == 2:
            return decode(message[1])
        if message[0] == "raise" and len(message) == 4 and all(type(m) is str for m in message[1:]):
            raise _exception(*message[1:])
        raise CodecError("not an answer")

    def _receive(self):
        message = receive(self.sock)
        if message is None:
            self.gone = "its process ended"
            raise CandidateGone("the candidate's process ended")
        if type(message) is not list or not message or type(message[0]) is not str:
            raise CodecError("not a message")
        return message


def _exception(name, text, trace):
    """The tests' copy of a candidate's exception: the builtin of that name, else CandidateError; the candidate's
    traceback goes with it as a note (what a model repairing it needs to see)."""
    kind = getattr(builtins, name, None)
    exception: Exception = CandidateError(f"{name}: {text}")
    if isinstance(kind, type) and issubclass(kind, Exception) and kind.__module__ == "builtins":
        with contextlib.suppress(Exception):  # a builtin that takes other arguments stays a CandidateError
            exception = kind(text)
    if trace:
        exception.add_note("in the candidate:\n" + trace[-1500:])
    return exception


def stand_in(candidate):
    """The ``solution`` module the tests import: a function per candidate function that calls it over the line,
    copies of its plain values, and the standard modules it imported under their own names. A builtin's name only
    when imported by name: ``from solution import *`` would put the candidate's ``all`` or ``abs`` in the tests' own
    comparisons."""
    module = types.ModuleType("solution")
    for name, (kind, *rest) in candidate.hello().items():
        if type(name) is not str:
            continue
        if kind == "function":
            setattr(module, name, _proxy(candidate, name))
        elif kind == "value":
            setattr(module, name, decode(rest[0]))
        elif kind == "module" and rest[0] == name and name in sys.stdlib_module_names:
            setattr(module, name, importlib.import_module(name))
    module.__dict__["__all__"] = [n for n in vars(module) if not n.startswith("_") and not hasattr(builtins, n)]
    return module


def _proxy(candidate, name):
    def call(*args, **kwargs):
        return candidate.call(name, args, kwargs)

    call.__name__ = call.__qualname__ = name
    return call
