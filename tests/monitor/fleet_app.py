"""The app pynmon watches in tests/monitor: every component on Kafka, built from the environment.

The test process, the worker and pynmon's process import this module (``pynenc --app
tests.monitor.fleet_app ...``), so all three build the same app: its id comes from
``PYNMON_FLEET_APP``, the broker from ``PYNENC__KAFKA_BOOTSTRAP_SERVERS``.
"""

from __future__ import annotations

import os

from pynenc import PynencBuilder

app = (
    PynencBuilder()
    .app_id(os.environ.get("PYNMON_FLEET_APP", "pynmon-fleet"))
    .kafka()
    .thread_runner()
    # Short atomic-service cycles, so the runner claims and records runs while the test watches.
    .custom_config(
        atomic_service_interval_minutes=0.1,
        atomic_service_spread_margin_minutes=0.01,
        atomic_service_check_interval_minutes=0.01,
    )
    .build()
)


class RejectedOrderError(ValueError):
    """Raised by :func:`ship_order` for an order it refuses, so the run records a failure."""


@app.task
def price_order(order_id: int, quantity: int) -> float:
    """A small task with a result: the order's price."""
    return round(quantity * 9.5 + order_id / 100, 2)


@app.task
def ship_order(order_id: int) -> str:
    """Fails for order 13, so the monitor has a FAILED invocation and its exception to show."""
    if order_id == 13:
        raise RejectedOrderError(f"order {order_id} has no shipping address")
    return f"shipped-{order_id}"


@app.task
def archive_manifest(manifest: str) -> int:
    """Takes an argument larger than the client data store's threshold, so it is stored there."""
    return len(manifest)


@app.workflow
def nightly_report(first_order: int, orders: int) -> float:
    """A workflow: prices ``orders`` orders as sub-invocations and records its progress as workflow data."""
    nightly_report.wf.set_data("stage", "pricing")
    prices = [price_order(order, 2) for order in range(first_order, first_order + orders)]
    total = sum(invocation.result for invocation in prices)
    nightly_report.wf.set_data("stage", "done")
    return total
