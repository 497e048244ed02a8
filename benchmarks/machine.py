"""What the figures were measured on: the machine, the servers and the library versions."""

from __future__ import annotations

import os
import platform
from importlib import metadata

import confluent_kafka


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return 0.0


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_facts(kafka_version: str, redis_version: str) -> dict[str, str]:
    """The run's machine and software, for the report's header.

    :param str kafka_version: The broker's Kafka version.
    :param str redis_version: The redis-server's version.
    """
    return {
        "cpu": f"{_cpu_model()}, {os.cpu_count()} cores",
        "memory": f"{_memory_gib():.0f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "kafka": f"Apache Kafka {kafka_version} (one local KRaft broker on 127.0.0.1)",
        "redis": f"redis-server {redis_version} on 127.0.0.1, no persistence",
        "libraries": ", ".join(
            f"{name} {_version(name)}"
            for name in ("pynenc", "pynenc-kafka", "pynenc-redis", "fastavro", "rocksdict")
        )
        + f", confluent-kafka {confluent_kafka.version()[0]} (librdkafka {confluent_kafka.libversion()[0]})",
    }
