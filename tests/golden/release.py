"""Record the current event schema as a release: its canonical form and golden bytes of every kind.

    python -m tests.golden.release VERSION

writes ``schemas/released/event-VERSION.json`` (the full schema, named types inlined, which the
codec accepts as a writer schema forever after; not the parsing canonical form, which drops the
logical types fastavro converts timestamps by) and ``tests/golden/VERSION/``: one event of each
payload type encoded with it (``<Kind>.bin``) and what it must decode to (``expected.json``).
Every kind needs a sample below, so a new kind cannot be released without golden bytes.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastavro.schema import load_schema

from pynenc_kafka.schemas import EVENT_SCHEMA_NAME, SCHEMA_DIR
from pynenc_kafka.schemas.codec import EventCodec
from pynenc_kafka.schemas.kinds import EventKind

GOLDEN = Path(__file__).resolve().parent
AT = 1_700_000_000_000_000
OCCURRED_AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def samples() -> dict[str, dict[str, Any]]:
    """A payload of every kind: the first release's, and one of each kind added since."""
    first = json.loads((GOLDEN / "0.1.0" / "expected.json").read_text())
    found = {kind: entry["payload"] for kind, entry in first.items()}
    found.update(
        {
            "InvocationTracked": {
                "invocation_id": "inv-1",
                "decision_key": "inv-1",
                "task_id": "mod.task",
                "call_id": "mod.task:args-1",
                "owner_runner_id": "runner-1",
                "registered_at": AT,
            },
            "StatusTransitionRequested": {
                "request_id": "req-1",
                "invocation_id": "inv-1",
                "decision_key": "task:mod.task",
                "status": "running",
                "runner_id": "runner-1",
                "requested_at": AT + 1,
                "concurrency_group": "task:mod.task",
            },
            "RetryCounted": {"invocation_id": "inv-1", "decision_key": "inv-1"},
            "ArgumentsIndexed": {"invocation_id": "inv-1", "decision_key": "inv-1", "arguments": {"x": "1"}},
            "AutoPurgeScheduled": {"invocation_id": "inv-1", "decision_key": "inv-1", "final_at": AT + 2},
            "InvocationForgotten": {"invocation_id": "inv-1", "decision_key": "inv-1"},
            "WaitingForResults": {"caller_id": "inv-1", "waited_ids": ["inv-2", "inv-3"]},
            "WaitersReleased": {"waited_id": "inv-2"},
            "AtomicServiceExecutionRecorded": {
                "request_id": "req-2",
                "runner_id": "runner-1",
                "run_id": "run-1",
                "started_at": AT + 3,
                "status": "running",
                "reason": "",
            },
            "AtomicServiceExecutionFinalized": {
                "runner_id": "runner-1",
                "run_id": "run-1",
                "end_time": AT + 4,
                "status": "completed",
                "reason": "",
            },
            "AtomicServiceExecutionsPurged": {"run_ids": ["run-0"]},
            "Purged": {"partitions": 3, "purge_id": "p-2", "scope": "client_data"},
            "ClientDataStored": {"key": "__pynenc__client_data__:0f1e", "value": '{"large": "value"}'},
            "TriggerRowStored": {"table": "condition", "row_id": "cond-1", "value": '{"cron": "* * * * *"}'},
            "TriggerRowsDeleted": {"table": "valid_condition", "row_ids": ["vc-1"]},
            "TriggerRunClaimRequested": {
                "request_id": "req-9",
                "claim_key": "run:trigger-run-1",
                "requested_at": AT,
                "expires_at": AT + 60_000_000,
            },
            "CronExecutionRequested": {
                "request_id": "req-10",
                "condition_id": "cond-1",
                "execution_time": AT + 60_000_000,
                "expected_last_execution": AT,
            },
            "RunnerHeartbeat": {
                "runner_id": "runner-1",
                "created_at": AT,
                "heartbeat_at": AT + 5,
                "can_run_atomic_service": True,
                "consumed_queues": ["default"],
            },
        }
    )
    return found


def _without_fastavro_keys(value: Any) -> Any:
    """A loaded schema as plain JSON: fastavro's own ``__…`` keys left out."""
    if isinstance(value, dict):
        return {k: _without_fastavro_keys(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_without_fastavro_keys(v) for v in value]
    return value


def release(version: str) -> None:
    """Write the release files of ``version`` (an unpublished version's are written again)."""
    codec = EventCodec()
    full = _without_fastavro_keys(
        load_schema(str(SCHEMA_DIR / f"{EVENT_SCHEMA_NAME}.avsc"), _write_hint=False)
    )
    schema_file = SCHEMA_DIR / "released" / f"event-{version}.json"
    schema_file.write_text(json.dumps(full, sort_keys=True, separators=(",", ":")))
    folder = GOLDEN / version
    folder.mkdir(exist_ok=True)
    payloads = samples()
    expected: dict[str, Any] = {}
    for n, kind in enumerate(EventKind, start=1):
        event_id = f"00000000-0000-4000-8000-{n:012d}"
        payload = payloads[kind.value]
        (folder / f"{kind.value}.bin").write_bytes(
            codec.encode("golden app", kind, payload, event_id, OCCURRED_AT)
        )
        expected[kind.value] = {
            "app_id": "golden app",
            "event_id": event_id,
            "occurred_at": OCCURRED_AT.isoformat(),
            "payload": payload,
        }
    (folder / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    release(sys.argv[1])
