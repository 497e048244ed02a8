"""The public decoding API: a record's value to ``(event_type, envelope, payload)``, schemas only."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pynenc_kafka.schemas.codec import EventCodec
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.record import UndecodableEventError, decode_record

REPO = Path(__file__).resolve().parents[2]


def test_a_value_decodes_to_its_type_envelope_and_payload() -> None:
    at = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    value = EventCodec().encode(
        "orders", EventKind.EXCEPTION_SET,
        {"invocation_id": "inv-1", "error_name": "ValueError", "serialized_exception": "{}"},
        "0b5c7f3e-2f7e-4c55-9a43-1f1e0c0a0b0c", at,
    )  # fmt: skip
    event_type, envelope, payload = decode_record(value)
    assert event_type == "ExceptionSet"
    assert envelope == {
        "event_id": "0b5c7f3e-2f7e-4c55-9a43-1f1e0c0a0b0c",
        "app_id": "orders",
        "occurred_at": at,
    }
    assert payload == {"invocation_id": "inv-1", "error_name": "ValueError", "serialized_exception": "{}"}


@pytest.mark.parametrize("value", [None, b"", b"not an event", b"\xc3\x01" + bytes(8) + b"body"])
def test_bytes_that_are_not_an_event_raise_undecodable(value: bytes | None) -> None:
    with pytest.raises(UndecodableEventError):
        decode_record(value)


def test_decoding_imports_only_the_schemas_package() -> None:
    code = (
        "import sys; from pynenc_kafka.schemas.record import decode_record; "
        "mods = [m for m in sys.modules if m.startswith(('pynenc', 'rocksdict', 'confluent_kafka', 'pyarrow'))]; "
        "print(sorted(m for m in mods if not m.startswith('pynenc_kafka.schemas') and m != 'pynenc_kafka'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_core_install_does_not_import_pyarrow() -> None:
    code = (
        "import sys; import pynenc_kafka.components.state_backend, pynenc_kafka.cli; "
        "print('pyarrow' in sys.modules, 'duckdb' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False False"
