"""The JVM that runs Kafka, and the storage format that gives a data dir its cluster id."""

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .console import TAIL_LINES, BrokerError, info
from .layout import LOG4J_CONFIG, Layout
from .properties import new_cluster_id

MIN_JAVA = 17
"""Kafka 4 needs Java 17 or newer for its broker."""
JVM_OPTIONS = ("-Xms256m", "-Xmx1g", "-Djava.awt.headless=true")
"""A small heap: the broker serves one machine's tests, not production traffic. A test session
creates a few thousand topics (an app's log, queue and runners), whose metadata fills 512 MiB."""
NODE_JVM_OPTIONS = ("-Xms128m", "-Xmx384m", "-Djava.awt.headless=true")
"""A smaller heap for each node of a local cluster, so that three fit beside the tests."""


def find_java() -> str:
    """Find ``java`` on PATH and check that it is recent enough for Kafka.

    :return: the path of the ``java`` executable.
    :raises BrokerError: if it is missing or too old.
    """
    java = shutil.which("java")
    if java is None:
        raise BrokerError(
            f"Java not found on PATH: Kafka needs Java {MIN_JAVA}+ "
            "(e.g. apt-get install openjdk-17-jre-headless)"
        )
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if match is None:
        raise BrokerError(f"could not read the Java version from '{java} -version'")
    major = int(match.group(1))
    if major == 1:  # "1.8.0_402" is Java 8
        major = int(match.group(2) or 0)
    if major < MIN_JAVA:
        raise BrokerError(f"{java} is Java {major}: Kafka needs Java {MIN_JAVA}+")
    return java


def java_command(
    java: str, libs: Path, main_class: str, *args: str, jvm_options: Sequence[str] = JVM_OPTIONS
) -> list[str]:
    """:param java: the ``java`` executable.
    :param libs: the jar folder.
    :param main_class: the class to run.
    :param args: its arguments.
    :param jvm_options: the heap and other JVM options.
    :return: the command line, with the quiet log4j2 configuration of ``deploy/kafka``.
    """
    return [
        java,
        *jvm_options,
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        "-cp",
        str(libs / "*"),
        main_class,
        *args,
    ]


def storage_format_command(
    java: str,
    libs: Path,
    layout: Layout,
    cluster_id: str,
    jvm_options: Sequence[str],
    extra_args: Sequence[str] = (),
) -> list[str]:
    """:param java: the ``java`` executable.
    :param libs: the jar folder.
    :param layout: the data dir (its ``server.properties`` must be written).
    :param cluster_id: the cluster id to format the log dir with.
    :param jvm_options: the heap and other JVM options.
    :param extra_args: more arguments of the storage tool (e.g. ``--add-scram``).
    :return: the command line of Kafka's storage tool that formats the log dir.
    """
    format_args = ("format", "-t", cluster_id, "-c", str(layout.server_properties), *extra_args)
    return java_command(java, libs, "kafka.tools.StorageTool", *format_args, jvm_options=jvm_options)


def format_storage(java: str, libs: Path, layout: Layout, extra_args: Sequence[str] = ()) -> str:
    """Format the log dir with a new random cluster id.

    :param java: the ``java`` executable.
    :param libs: the jar folder.
    :param layout: the data dir (its ``server.properties`` must be written).
    :param extra_args: more arguments of the storage tool (the admin's SCRAM credential of a
        secured broker: the tool's output never echoes them).
    :return: the new cluster id.
    :raises BrokerError: if the storage tool fails.
    """
    cluster_id = new_cluster_id()
    info(f"formatting {layout.log_dir} (cluster id {cluster_id})")
    command = storage_format_command(java, libs, layout, cluster_id, JVM_OPTIONS, extra_args)
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if result.returncode != 0:
        output = result.stdout.splitlines()[-TAIL_LINES:]
        raise BrokerError(f"formatting {layout.log_dir} failed (exit {result.returncode})", output)
    return cluster_id


def format_storages(java: str, libs: Path, layouts: Sequence[Layout], cluster_id: str) -> None:
    """Format the log dirs of a cluster's nodes with one cluster id, all at once.

    :param java: the ``java`` executable.
    :param libs: the jar folder.
    :param layouts: the nodes' data dirs (their ``server.properties`` must be written).
    :param cluster_id: the cluster's id.
    :raises BrokerError: if the storage tool fails for any node (naming the first).
    """
    info(f"formatting {len(layouts)} node log dirs (cluster id {cluster_id})")
    running = [
        subprocess.Popen(
            storage_format_command(java, libs, layout, cluster_id, NODE_JVM_OPTIONS),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for layout in layouts
    ]
    outputs = [process.communicate()[0] for process in running]
    for layout, process, output in zip(layouts, running, outputs, strict=True):
        if process.returncode != 0:
            raise BrokerError(
                f"formatting {layout.log_dir} failed (exit {process.returncode})",
                output.splitlines()[-TAIL_LINES:],
            )
