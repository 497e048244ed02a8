"""Why ``test_report_task_status`` of pynenc's trigger suite is left out of ours: run as pynenc
exports it to plugins (``from pynenc_tests.unit.trigger.all_tests import *``), it fails on
pynenc 0.4.0's own MemTrigger and SQLiteTrigger too, with pynenc's own ``app_instance`` fixture.

``all_tests`` star-imports three modules that each define a ``trigger`` fixture; the last one
(``test_trigger_backend_monitoring``) wins, and unlike ``test_trigger_all_instances``'s it does not
bind the module's ``add`` task to the app under test. ``add(1, 2)`` is then registered on that
module's MockPynenc, and the app under test's state backend refuses the report of an invocation
it never stored (``InvocationNotFoundError``), before any trigger code decides anything. Run from
its own module, with its own fixture, the same test passes.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

#: pynenc's exported trigger suite on pynenc's own fixtures (memory and SQLite apps).
_SUITE = textwrap.dedent(
    """
    from pynenc_tests.conftest import *
    from pynenc_tests.unit.trigger.all_tests import *
    """
)


def test_report_task_status_fails_on_pynencs_own_triggers_as_plugins_run_it(tmp_path: Path) -> None:
    (tmp_path / "test_pynenc_own_trigger_suite.py").write_text(_SUITE)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rf",
            "-k",
            "test_report_task_status",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    out = done.stdout
    assert "2 failed" in out, out[-3000:]
    for backend in ("memory", "sqlite"):
        assert f"FAILED test_pynenc_own_trigger_suite.py::test_report_task_status[{backend}]" in out, out[
            -3000:
        ]
    assert out.count("InvocationNotFoundError: InvocationNotFoundError(invocation:") >= 2, out[-3000:]
    assert out.count("The invocation wasn't stored") >= 2, out[-3000:]
