"""The command line of ``deploy/kafka/broker``: options, dispatch, errors to exit codes."""

import argparse
from collections.abc import Sequence
from pathlib import Path

from . import cluster_commands, commands
from .cluster import read_config
from .console import EXIT_DOWN, EXIT_ERROR, EXIT_INTERRUPTED, BrokerError, report_error
from .java import MIN_JAVA
from .layout import ClusterLayout, make_layout
from .ports import DEFAULT_PORT
from .process import STOP_GRACE_SECONDS
from .properties import HOST

DEFAULT_TIMEOUT = 90.0
"""Seconds ``start`` waits for a launched broker: generous, for a loaded machine."""
MAX_NODES = 9
"""The largest local cluster: every node is also a controller, and all share one machine."""


def _port(text: str) -> int:
    """:param text: an option value.
    :return: it as a TCP port.
    :raises argparse.ArgumentTypeError: if it is not one (a usage error, exit 2).
    """
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (1-65535)")
    return port


def _positive_seconds(text: str) -> float:
    """:param text: an option value.
    :return: it as a positive number of seconds.
    :raises argparse.ArgumentTypeError: if it is not positive (a usage error, exit 2).
    """
    seconds = float(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return seconds


def _node_count(text: str) -> int:
    """:param text: an option value.
    :return: it as a node count: 1 (a single broker), or 3 to :data:`MAX_NODES` (a cluster
        that keeps its quorum and three replicas when one node is down).
    :raises argparse.ArgumentTypeError: if it is not one (a usage error, exit 2).
    """
    nodes = int(text)
    if nodes != 1 and not 3 <= nodes <= MAX_NODES:
        raise argparse.ArgumentTypeError(f"must be 1, or 3 to {MAX_NODES}")
    return nodes


def _node_id(text: str) -> int:
    """:param text: an option value.
    :return: it as a node id (from 1).
    :raises argparse.ArgumentTypeError: if it is not positive (a usage error, exit 2).
    """
    node_id = int(text)
    if node_id < 1:
        raise argparse.ArgumentTypeError("node ids start at 1")
    return node_id


def build_parser() -> argparse.ArgumentParser:
    """:return: the command line parser of ``broker``."""
    parser = argparse.ArgumentParser(
        prog="broker",
        description="Run a local single-node Apache Kafka broker (KRaft mode) on "
        f"{HOST}, without Docker, or a local cluster of several nodes (--nodes 3). Needs "
        f"Java {MIN_JAVA}+ on PATH, and Maven (mvn) the first time, to download the jars.",
        epilog="Environment: PYNENC_KAFKA_BROKER_HOME (default data dir, else "
        "<repo>/.kafka/broker); PYNENC_KAFKA_JARS (jar cache, else "
        "~/.cache/pynenc-kafka/kafka-<version>). Exit codes: 0 ok, 1 error, "
        f"2 usage error, {EXIT_DOWN} 'status' found the broker down.",
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="broker data dir (default: $PYNENC_KAFKA_BROKER_HOME, else <repo>/.kafka/broker)",
    )

    start = subcommands.add_parser(
        "start",
        parents=[data_dir],
        help="start the broker or cluster (or report the running one)",
        description="Start the broker and wait until it serves metadata. The last line "
        f"on stdout is KAFKA_BOOTSTRAP_SERVERS={HOST}:PORT. If this data dir's broker "
        "already runs, report it. The data dir is formatted once and then reused. "
        "With --nodes 3, start a cluster of three nodes (each broker and controller, "
        "in node-<id>/ of the data dir; topics replicated three times, two in-sync "
        f"replicas per write) and wait until it lists them all; the last line is then "
        f"KAFKA_BOOTSTRAP_SERVERS={HOST}:P1,{HOST}:P2,{HOST}:P3.",
    )
    sizes = start.add_mutually_exclusive_group()
    sizes.add_argument(
        "--nodes",
        type=_node_count,
        metavar="N",
        help=f"1 for a single broker, 3 to {MAX_NODES} for a cluster (default: what the data "
        "dir holds, else 1)",
    )
    sizes.add_argument(
        "--node",
        type=_node_id,
        metavar="ID",
        help="start only this stopped node of the data dir's cluster, on its own ports",
    )
    start.add_argument(
        "--port",
        type=_port,
        help=f"client port (default: the data dir's last port, else {DEFAULT_PORT}); node i "
        "of a cluster gets PORT+i-1",
    )
    start.add_argument(
        "--controller-port",
        type=_port,
        metavar="PORT",
        help="KRaft controller port (default: the data dir's last one, else PORT+1 or a free "
        "port); node i of a cluster gets PORT+i-1 (default there: after the client ports)",
    )
    start.add_argument(
        "--secure",
        action="store_true",
        help="a single broker secured with SASL_SSL (SCRAM-SHA-512), a self-signed CA and broker "
        "certificate, ACLs (StandardAuthorizer) and an admin user; prints the client settings "
        "without the password (see 'credentials'). A data dir secured once always starts secured",
    )
    start.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for the launched broker to answer (default: {DEFAULT_TIMEOUT:g})",
    )

    stop = subcommands.add_parser(
        "stop",
        parents=[data_dir],
        help="stop the broker or cluster",
        description="Stop the broker whose pid is in <data-dir>/broker.pid: SIGTERM, "
        f"then SIGKILL after {STOP_GRACE_SECONDS:g}s. Exits 0 if nothing runs. A "
        "cluster's nodes (pids in <data-dir>/node-<id>/broker.pid) are all told at once.",
    )
    stop.add_argument("--node", type=_node_id, metavar="ID", help="stop only this node of the cluster")
    credentials = subcommands.add_parser(
        "credentials",
        parents=[data_dir],
        help="the client settings of a secured broker",
        description="Print the librdkafka options of the secured broker's admin user "
        "(security.protocol, sasl.*, ssl.ca.location), one per line and as "
        "PYNENC__KAFKA_CLIENT_OPTIONS=<JSON>; the password only with --show-password.",
    )
    credentials.add_argument("--show-password", action="store_true", help="print the admin's password")
    credentials.add_argument("--json", action="store_true", help="print the options as one JSON object")
    status = subcommands.add_parser(
        "status",
        parents=[data_dir],
        help="tell whether the broker or cluster is up",
        description=f"Print 'up {HOST}:PORT (pid N)' and exit 0, or 'down' and exit {EXIT_DOWN}. "
        f"For a cluster, print 'node ID up {HOST}:PORT (pid N)' or 'node ID down ...' per "
        f"node, and exit 0 only if all are up.",
    )
    status.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object instead: data_dir, cluster_id, bootstrap_servers and "
        "nodes (each with node_id, up, pid, port, controller_port, data_dir and log)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the chosen command.

    :param args: the parsed command line.
    :return: the exit code.
    """
    data_dir: Path | None = args.data_dir
    layout = make_layout(data_dir)
    config = read_config(ClusterLayout(layout.data_dir))
    if args.command == "credentials":
        return commands.credentials(data_dir, args.show_password, args.json)
    if args.command == "start":
        if args.secure and ((args.nodes or 1) != 1 or args.node is not None or config is not None):
            raise BrokerError("--secure starts a single broker: leave out --nodes and --node")
        if args.node is not None:
            if args.port or args.controller_port:
                raise BrokerError(
                    "--node starts a node on its own ports: leave out --port and --controller-port"
                )
            return cluster_commands.start_node(data_dir, args.node, args.timeout)
        nodes: int = args.nodes or (config.nodes if config else 1)
        if nodes == 1 and config is None:
            return commands.start(data_dir, args.port, args.controller_port, args.timeout, args.secure)
        if nodes == 1 or (config is None and layout.server_properties.exists()):
            kind = f"a {config.nodes}-node cluster" if config else "a single broker"
            raise BrokerError(f"{layout.data_dir} holds {kind}: use another --data-dir")
        return cluster_commands.start(data_dir, nodes, args.port, args.controller_port, args.timeout)
    if config is not None:
        if args.command == "stop":
            return cluster_commands.stop(data_dir, args.node)
        return cluster_commands.status(data_dir, args.json)
    if args.command == "stop":
        if args.node is not None:
            raise BrokerError(f"{layout.data_dir} holds no cluster: --node names a node of a cluster")
        return commands.stop(data_dir)
    return commands.status(data_dir, args.json)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the command, turn failures into exit codes.

    :param argv: the arguments (default: ``sys.argv[1:]``).
    :return: the exit code.
    """
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except BrokerError as error:
        report_error(error)
    except OSError as error:  # e.g. a data dir that cannot be written
        report_error(BrokerError(str(error)))
    except KeyboardInterrupt:
        report_error(BrokerError("interrupted"))
        return EXIT_INTERRUPTED
    return EXIT_ERROR
