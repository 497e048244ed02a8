"""The three commands: ``start``, ``stop`` and ``status``."""

import time
from pathlib import Path

from .cluster import single_state, status_json
from .console import EXIT_DOWN, EXIT_OK, BrokerError, info
from .jars import ensure_jars, jar_cache_dir
from .java import find_java, format_storage
from .layout import Layout, kafka_version, locked, make_layout
from .ports import DEFAULT_PORT, choose_controller_port, require_free
from .process import launch, read_live_pid, terminate
from .properties import HOST, previous_ports, read_cluster_id, render_server_properties
from .readiness import broker_answers, wait_until_ready
from .security import (
    client_settings_lines,
    create_credentials,
    probe_options,
    read_credentials,
    scram_format_args,
)


def print_up(headline: str, port: int, layout: Layout) -> None:
    """Print the result of ``start``; the bootstrap line is always the last one,
    so that callers can take it with ``tail -1``. A secured broker's client settings
    come before it, the password hidden.

    :param headline: the line about the broker.
    :param port: the client port.
    :param layout: the data dir.
    """
    print(headline)
    credentials = read_credentials(layout)
    if credentials is not None:
        print("\n".join(client_settings_lines(layout, credentials, show_password=False)))
    print(f"KAFKA_BOOTSTRAP_SERVERS={HOST}:{port}", flush=True)


def report_running(pid: int, layout: Layout, requested_port: int | None, version: str) -> None:
    """Handle ``start`` when this data dir's broker already runs.

    :param pid: the running broker's pid.
    :param layout: the data dir.
    :param requested_port: ``--port``, if given.
    :param version: the Kafka version.
    :raises BrokerError: if it runs on another port, or does not answer.
    """
    port, _ = previous_ports(layout)
    if port is None:
        raise BrokerError(f"{layout.server_properties} has no client listener")
    if requested_port not in (None, port):
        raise BrokerError(
            f"the broker of {layout.data_dir} already runs on {HOST}:{port} "
            f"(pid {pid}): stop it first, or use another --data-dir"
        )
    if not broker_answers(port, read_cluster_id(layout), options=probe_options(layout)):
        raise BrokerError(
            f"the broker of {layout.data_dir} runs (pid {pid}) but does not answer on "
            f"{HOST}:{port}: see {layout.broker_log}, or stop it"
        )
    print_up(f"Apache Kafka {version} (KRaft) already up on {HOST}:{port} (pid {pid})", port, layout)


def choose_ports(layout: Layout, port: int | None, controller_port: int | None) -> tuple[int, int]:
    """Pick the client and controller ports of a new start and check them free.

    :param layout: the data dir (its last start's ports are the defaults).
    :param port: ``--port``, if given.
    :param controller_port: ``--controller-port``, if given.
    :return: the client and controller ports.
    :raises BrokerError: if a port is taken, or both are the same.
    """
    previous_port, previous_controller_port = previous_ports(layout)
    chosen_port = port or previous_port or DEFAULT_PORT
    require_free(chosen_port, "--port")
    chosen_controller_port = choose_controller_port(chosen_port, controller_port, previous_controller_port)
    if chosen_controller_port == chosen_port:
        raise BrokerError("--controller-port must differ from --port")
    require_free(chosen_controller_port, "--controller-port")
    return chosen_port, chosen_controller_port


def start_new_broker(
    layout: Layout,
    version: str,
    port: int | None,
    controller_port: int | None,
    timeout: float,
    secure: bool = False,
) -> int:
    """Configure, format (once), launch and wait for a new broker.

    :param layout: the data dir, locked by the caller.
    :param version: the Kafka version.
    :param port: ``--port``, if given.
    :param controller_port: ``--controller-port``, if given.
    :param timeout: seconds to wait for the broker to answer.
    :param secure: ``--secure``: secure a new data dir (one secured once always starts secured).
    :return: the client port the broker answers on.
    :raises BrokerError: if ``--secure`` names a data dir already formatted without it.
    """
    java = find_java()
    client_port, quorum_port = choose_ports(layout, port, controller_port)
    libs = ensure_jars(jar_cache_dir(version), version)
    credentials = read_credentials(layout)
    formatted = read_cluster_id(layout)
    if secure and credentials is None:
        if formatted:
            raise BrokerError(f"{layout.data_dir} holds a broker without --secure: use another --data-dir")
        credentials = create_credentials(java, layout)
    layout.server_properties.touch(mode=0o600)
    layout.server_properties.chmod(0o600)  # a secured broker's holds its passwords
    layout.server_properties.write_text(
        render_server_properties(layout, client_port, quorum_port, credentials), encoding="utf-8"
    )
    scram = scram_format_args(credentials) if credentials else []
    cluster_id = formatted or format_storage(java, libs, layout, scram)
    info(f"starting Kafka {version} on {HOST}:{client_port} (controller {quorum_port})")
    process = launch(java, libs, layout)
    wait_until_ready(process, layout, client_port, cluster_id, timeout)
    return client_port


def start(
    data_dir: Path | None, port: int | None, controller_port: int | None, timeout: float, secure: bool = False
) -> int:
    """``broker start``: start the broker, or report the one already running.

    :param data_dir: ``--data-dir``, if given.
    :param port: ``--port``, if given.
    :param controller_port: ``--controller-port``, if given.
    :param timeout: ``--timeout``: seconds to wait for a launched broker to answer.
    :param secure: ``--secure``: SASL_SSL, SCRAM, ACLs (see :mod:`.security`).
    :return: the exit code.
    """
    version = kafka_version()
    layout = make_layout(data_dir)
    with locked(layout):
        running = read_live_pid(layout)
        if running is not None:
            report_running(running, layout, port, version)
            return EXIT_OK
        layout.pid_file.unlink(missing_ok=True)
        started = time.monotonic()
        client_port = start_new_broker(layout, version, port, controller_port, timeout, secure)
    elapsed = time.monotonic() - started
    kind = " secured (SASL_SSL, SCRAM-SHA-512, ACLs)" if read_credentials(layout) else ""
    print_up(
        f"Apache Kafka {version} (KRaft){kind} up on {HOST}:{client_port} in {elapsed:.1f}s",
        client_port,
        layout,
    )
    return EXIT_OK


def stop(data_dir: Path | None) -> int:
    """``broker stop``: stop the broker of the data dir, if it runs.

    :param data_dir: ``--data-dir``, if given.
    :return: the exit code (also 0 when nothing runs).
    """
    layout = make_layout(data_dir)
    if not layout.data_dir.is_dir():
        print(f"no broker running ({layout.data_dir} does not exist)")
        return EXIT_OK
    with locked(layout):
        pid = read_live_pid(layout)
        if pid is None:
            layout.pid_file.unlink(missing_ok=True)
            print(f"no broker running from {layout.data_dir}")
            return EXIT_OK
        terminate(pid, layout)
    print(f"stopped the broker (pid {pid}) of {layout.data_dir}")
    return EXIT_OK


def status(data_dir: Path | None, as_json: bool = False) -> int:
    """``broker status``: tell whether the data dir's broker runs and answers.

    :param data_dir: ``--data-dir``, if given.
    :param as_json: ``--json``: print :func:`~.cluster.status_json` (one node) instead.
    :return: 0 if up, :data:`~.console.EXIT_DOWN` if down.
    """
    layout = make_layout(data_dir)
    pid = read_live_pid(layout)
    port, _ = previous_ports(layout)
    cluster_id = read_cluster_id(layout)
    up = (
        pid is not None
        and port is not None
        and broker_answers(port, cluster_id, options=probe_options(layout))
    )
    if as_json:
        print(status_json(layout.data_dir, cluster_id, [single_state(layout)], [up]))
    elif up:
        print(f"up {HOST}:{port} (pid {pid})")
    else:
        print("down")
    return EXIT_OK if up else EXIT_DOWN


def credentials(data_dir: Path | None, show_password: bool, as_json: bool) -> int:
    """``broker credentials``: the client settings of a secured broker.

    :param data_dir: ``--data-dir``, if given.
    :param show_password: ``--show-password``: print the admin's password (else a placeholder).
    :param as_json: ``--json``: print the librdkafka options as one JSON object.
    :return: the exit code.
    :raises BrokerError: if the data dir is not secured.
    """
    layout = make_layout(data_dir)
    found = read_credentials(layout)
    if found is None:
        raise BrokerError(f"{layout.data_dir} holds no secured broker: start one with 'start --secure'")
    lines = client_settings_lines(layout, found, show_password)
    print(lines[-1].split("=", 1)[1] if as_json else "\n".join(lines))
    return EXIT_OK
