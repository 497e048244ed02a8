"""The HTTP endpoint of a process: ``/metrics`` for Prometheus, ``/healthz`` and ``/readyz`` probes.

``pynenc-kafka project --metrics-port N`` serves it, and so does any process of the backend
with ``PYNENC__KAFKA_METRICS_PORT`` set. Many workers of a host may share one configuration:
the first to bind the port serves, every other one logs one line saying so and goes on
without an endpoint. A forked child (pynenc's process runners fork one per task) never tries:
its parent serves.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, make_wsgi_app

from pynenc_kafka.observability.collector import health_problems, readiness_problems

if TYPE_CHECKING:
    from pynenc_kafka.core.conf import ConfigKafkaProjection

logger = logging.getLogger("pynenc_kafka.observability.metrics")

#: Whether this process (or the process it was forked from) asked for its endpoint already.
_asked = False
_asked_lock = threading.Lock()


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """No access log on stderr."""


class MetricsEndpoint:
    """The WSGI application: the probes, and prometheus_client's exposition for everything else.

    :param int ready_max_lag: Records a projection may be behind and the process still be ready.
    """

    def __init__(self, ready_max_lag: int) -> None:
        self.ready_max_lag = ready_max_lag
        self._metrics = make_wsgi_app(REGISTRY)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer one request."""
        path = environ.get("PATH_INFO", "/")
        if path == "/healthz":
            return self._probe(health_problems(), start_response)
        if path == "/readyz":
            return self._probe(readiness_problems(self.ready_max_lag), start_response)
        return self._metrics(environ, start_response)

    @staticmethod
    def _probe(problems: list[str], start_response: Callable[..., Any]) -> list[bytes]:
        body = ("\n".join(problems) if problems else "ok") + "\n"
        status = "503 Service Unavailable" if problems else "200 OK"
        start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
        return [body.encode()]


class MetricsServer:
    """A running endpoint.

    :param WSGIServer server: The bound server.
    """

    def __init__(self, server: WSGIServer) -> None:
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, name="pynenc-kafka-metrics", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()


def serve_metrics(port: int, address: str, ready_max_lag: int) -> MetricsServer | None:
    """Serve the endpoint on ``address:port``; ``None`` (and one log line) if the port is taken.

    :param int port: TCP port (``0``: any free one, see :attr:`MetricsServer.port`).
    :param str address: Address to bind (``0.0.0.0``: every interface).
    :param int ready_max_lag: See :class:`MetricsEndpoint`.
    """
    try:
        server = make_server(
            address, port, MetricsEndpoint(ready_max_lag), server_class=_Server, handler_class=_QuietHandler
        )
    except OSError as exc:
        logger.warning(
            "metrics endpoint not started: cannot listen on %s:%d (%s); another process of this host "
            "probably serves there: give each process its own PYNENC__KAFKA_METRICS_PORT",
            address,
            port,
            exc.strerror or exc,
        )
        return None
    logger.info(
        "metrics on http://%s:%d/metrics (probes /healthz, /readyz)", address, server.server_address[1]
    )
    return MetricsServer(server)


def serve_metrics_once(port: int, address: str, ready_max_lag: int) -> None:
    """:func:`serve_metrics` the first time a process (or the process it was forked from) asks."""
    global _asked
    with _asked_lock:
        if _asked:
            return
        _asked = True
    serve_metrics(port, address, ready_max_lag)


def serve_configured_metrics(conf: ConfigKafkaProjection) -> None:
    """:func:`serve_metrics_once` on the settings of a component, if they name a port (``0``: none)."""
    if conf.kafka_metrics_port:
        serve_metrics_once(
            int(conf.kafka_metrics_port), conf.kafka_metrics_address, int(conf.kafka_ready_max_lag)
        )


def _new_lock_in_child() -> None:
    global _asked_lock
    _asked_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_in_child)
