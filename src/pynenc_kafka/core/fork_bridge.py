"""The fork bridge: a forked process's backend calls, served by the process it was forked from.

pynenc's ProcessRunner forks a process per task. Such a process used to build its own Kafka
producer (connection, metadata, producer id) and open the views as a RocksDB secondary before
its first write: tens of milliseconds, for a life of a few calls. The process that forked it
already holds all of that, warm. So, at every fork of a process whose backends are registered
here, a Unix socket pair is made: the parent serves its end from a thread pool, and the child
sends its backends' calls (their writes as encoded events, their point reads by id) through
the other end. The parent runs each call on its own backend of the same app, exactly as a call
of its own: a write returns once Kafka acknowledged it, a read is answered behind the parent's
barrier, so the child keeps every guarantee of a local call.

It is opt-in (``KAFKA_FORK_BRIDGE_SECONDS``, off by default; see the README). The bridge is
for short lives: a child still running ``KAFKA_FORK_BRIDGE_SECONDS`` after its
fork (a worker process of pynenc's MultiThreadRunner or PersistentProcessRunner) builds its
own clients from then on, so long-lived workers do not all funnel through one process. What
cannot cross (a backend created after the fork, a value that does not pickle, a parent that
went away) runs in the child as before. A write in flight when the parent dies fails with
:class:`EventNotPersistedError`, as a lost acknowledgement does: it may or may not be in the log.
"""

from __future__ import annotations

import functools
import logging
import os
import pickle
import selectors
import socket
import struct
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from pynenc.exceptions import PynencError

from pynenc_kafka.producers.errors import EventNotPersistedError

logger = logging.getLogger("pynenc_kafka.core.fork_bridge")

_LENGTH = struct.Struct("!I")
#: Calls the parent runs at once for all its children.
_SERVING_THREADS = 8
F = TypeVar("F", bound=Callable[..., Any])


class Bridged(Protocol):
    """What the bridge needs of a backend: how long a forked child may use it (0: never)."""

    bridge_seconds: float


class _Unservable(Exception):
    """The parent cannot run this call for the child: the child runs it itself."""


def _send(sock: socket.socket, message: Any) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_LENGTH.pack(len(body)) + body)


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, missing = [], size
    while missing:
        chunk = sock.recv(missing)
        if not chunk:
            raise ConnectionResetError("the other process closed the fork bridge")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _receive(sock: socket.socket) -> Any:
    (size,) = _LENGTH.unpack(_receive_exactly(sock, _LENGTH.size))
    return pickle.loads(_receive_exactly(sock, size))


class BridgeServer:
    """The parent's side: its registered backends, and the children's connections it serves."""

    def __init__(self) -> None:
        self._backends: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._selector: selectors.BaseSelector | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._children: dict[socket.socket, threading.Lock] = {}
        self._pending: tuple[socket.socket, socket.socket] | None = None

    def register(self, backend: Bridged) -> None:
        """Let the children this process forks from now on call ``backend`` through the bridge."""
        if backend.bridge_seconds > 0:
            self._backends[id(backend)] = backend

    def before_fork(self) -> None:
        """Make the socket pair of the child about to be forked (when there is anything to serve)."""
        self._pending = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM) if len(self._backends) else None

    def after_fork_in_parent(self) -> None:
        """Serve the new child's end of the pair."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        mine, childs = pending
        childs.close()
        try:
            self._serve(mine)
        except OSError:  # no threads or sockets left (interpreter shutting down): the child runs alone
            mine.close()

    def after_fork_in_child(self) -> BridgeClient | None:
        """Drop what serves the parent's other children; return this child's client, if any."""
        pending = self._pending
        until = {key: time.monotonic() + backend.bridge_seconds for key, backend in self._backends.items()}
        for sock in [*self._children, *(s for s in (self._wake_r, self._wake_w) if s is not None)]:
            sock.close()
        self._reset()
        self._backends = weakref.WeakValueDictionary()
        if pending is None:
            return None
        parents, mine = pending
        parents.close()
        return BridgeClient(mine, until)

    # -- serving -------------------------------------------------------------------------------

    def _serve(self, sock: socket.socket) -> None:
        with self._lock:
            if self._selector is None:
                self._start()
            self._children[sock] = threading.Lock()
            assert self._selector is not None and self._wake_w is not None
            self._selector.register(sock, selectors.EVENT_READ)
            self._wake_w.send(b"\0")

    def _start(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._executor = ThreadPoolExecutor(_SERVING_THREADS, thread_name_prefix="pynenc-kafka-bridge")
        threading.Thread(target=self._loop, name="pynenc-kafka-bridge", daemon=True).start()

    def _loop(self) -> None:
        selector, executor, wake = self._selector, self._executor, self._wake_r
        if selector is None or executor is None or wake is None:
            return
        while True:
            for key, _ in selector.select():
                sock = cast(socket.socket, key.fileobj)
                if sock is wake:
                    wake.recv(4096)
                    continue
                try:
                    request = _receive(sock)
                except (OSError, EOFError, pickle.UnpicklingError):  # the child exited
                    self._drop(selector, sock)
                    continue
                executor.submit(self._answer, sock, request)

    def _drop(self, selector: selectors.BaseSelector, sock: socket.socket) -> None:
        with self._lock:
            selector.unregister(sock)
            self._children.pop(sock, None)
        sock.close()

    def _answer(self, sock: socket.socket, request: tuple[int, int, str, tuple, dict]) -> None:
        number, backend_id, name, args, kwargs = request
        try:
            reply: tuple[Any, ...] = ("ok", number, self._call(backend_id, name, args, kwargs))
        except _Unservable:
            reply = ("local", number)
        except Exception as exc:  # the call's own error: the child raises it
            reply = ("error", number, _crossing(exc))
        with self._children.get(sock, threading.Lock()):
            try:
                _send(sock, reply)
            except (pickle.PicklingError, TypeError, AttributeError):  # an answer that cannot cross
                _send(sock, ("local", number))
            except OSError:
                pass  # the child is gone

    def _call(self, backend_id: int, name: str, args: tuple, kwargs: dict) -> Any:
        backend = self._backends.get(backend_id)
        if backend is None:
            raise _Unservable
        method = getattr(type(backend), name)
        return getattr(method, "__wrapped__", method)(backend, *args, **kwargs)


class _PynencErrorCrossing(NamedTuple):
    """A pynenc error that does not pickle, as pynenc serializes it (``PynencError.to_json``)."""

    name: str
    serialized: str


def _crossing(exc: BaseException) -> Exception | _PynencErrorCrossing:
    """``exc`` as it crosses to the child: itself if it pickles, a pynenc error as pynenc
    serializes it (the child raises the same class: the caller's ``except`` clauses still match),
    else a ``RuntimeError`` with its type and message."""
    try:
        pickle.loads(pickle.dumps(exc))
        return cast(Exception, exc)
    except Exception:
        pass
    if isinstance(exc, PynencError):
        try:
            return _PynencErrorCrossing(type(exc).__name__, exc.to_json())
        except Exception:
            pass
    return RuntimeError(f"{type(exc).__name__}: {exc}")


def _landed(crossed: Exception | _PynencErrorCrossing) -> Exception:
    """The error the child raises for what :func:`_crossing` sent."""
    if isinstance(crossed, _PynencErrorCrossing):
        return PynencError.from_json(crossed.name, crossed.serialized)
    return crossed


class BridgeClient:
    """The child's side: sends its backends' calls to the parent, one at a time.

    :param socket.socket sock: The child's end of the pair.
    :param dict until: For each of the parent's backends at the fork (by id: the same objects,
        copied, here), the ``time.monotonic()`` after which the child runs its calls itself.
    """

    def __init__(self, sock: socket.socket, until: dict[int, float]) -> None:
        self._sock: socket.socket | None = sock
        self._until = until
        self._lock = threading.Lock()
        self._numbers = iter(range(1 << 62))

    def serves(self, backend: object) -> bool:
        """Whether ``backend`` is one the parent had at the fork, and the parent still answers it."""
        until = self._until.get(id(backend))
        if self._sock is None or until is None:
            return False
        return time.monotonic() <= until  # after it, a long life: its own clients pay for themselves

    def call(self, backend: object, name: str, args: tuple, kwargs: dict, writes: bool) -> tuple[bool, Any]:
        """Run ``backend.name(*args, **kwargs)`` in the parent.

        :return: ``(True, value)``, or ``(False, None)`` when the child must run the call itself.
        :raises EventNotPersistedError: If the parent went away during a write.
        """
        with self._lock:
            sock = self._sock
            if sock is None:
                return False, None
            number = next(self._numbers)
            try:
                _send(sock, (number, id(backend), name, args, kwargs))
            except (pickle.PicklingError, TypeError, AttributeError):
                return False, None
            except OSError:
                return self._parent_gone(name, writes, sent=False)
            try:
                reply = _receive(sock)
            except (OSError, EOFError, pickle.UnpicklingError):
                return self._parent_gone(name, writes, sent=True)
        kind, answered = reply[0], reply[1]
        if answered != number:
            raise RuntimeError(f"the fork bridge answered call {answered} to call {number}")
        if kind == "ok":
            return True, reply[2]
        if kind == "error":
            raise _landed(reply[2])
        return False, None

    def _parent_gone(self, name: str, writes: bool, sent: bool) -> tuple[bool, Any]:
        self.close()
        logger.warning("the process this one was forked from stopped answering: using Kafka directly")
        if writes and sent:
            raise EventNotPersistedError(
                f"the parent process that wrote for this forked process exited during {name}: "
                "the write may or may not be in the log"
            )
        return False, None

    def close(self) -> None:
        """Stop using the bridge (the parent went away)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None


SERVER = BridgeServer()
_CLIENT: BridgeClient | None = None


def _child() -> None:
    global _CLIENT
    _CLIENT = SERVER.after_fork_in_child()


os.register_at_fork(
    before=SERVER.before_fork, after_in_parent=SERVER.after_fork_in_parent, after_in_child=_child
)


def through_parent(writes: bool = False) -> Callable[[F], F]:
    """Decorate a backend method: in a forked child, the parent runs it (see the module docstring).

    In any other process the method runs as written, after one check of a module global. Only
    methods whose answer is a value (not an iterator) are bridged: a generator cannot cross.

    :param bool writes: Whether the method writes (a parent lost mid-call then fails the call).
    """

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            client = _CLIENT
            if client is not None and client.serves(self):
                served, value = client.call(self, method.__name__, args, kwargs, writes)
                if served:
                    return value
            return method(self, *args, **kwargs)

        return cast(F, call)

    return decorate
