"""The monitoring half of :class:`~pynenc_kafka.components.trigger.KafkaTrigger`: events, trigger runs,
their links, and their retention (age and capacity purges).

Event and trigger-run records are rows of the trigger's view (pynenc's own JSON of each), written
by ``TriggerRowStored`` events and dropped by ``TriggerRowsDeleted`` ones; an event's triggered
invocations are ``event_link`` rows, ordered by when they were linked. Queries filter a scan of
the table: the tables hold what retention leaves (``event_max_records``, ``trigger_run_max_records``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from pynenc.trigger.base_trigger import BaseTrigger
from pynenc.trigger.monitoring import EventMarker, EventMarkerPage, EventRecord, TriggerRunRecord

from pynenc_kafka.components.trigger_tables import SEP, TriggerTables, delete, put
from pynenc_kafka.core.app_log import Record

EVENT, EVENT_LINK, RUN = "event", "event_link", "run"
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _run_time(run: TriggerRunRecord) -> datetime:
    return run.executed_at or run.claimed_at or _EARLIEST


class TriggerMonitoring(BaseTrigger):
    """Events and trigger runs of pynenc's monitoring API, as rows of the trigger's view."""

    tables: TriggerTables

    # -- events ---------------------------------------------------------------------------------------

    def store_event(self, event: EventRecord) -> None:
        records = [put(EVENT, event.event_id, event.to_json(self.app))]
        records += self._links(event.event_id, event.triggered_invocation_ids)
        self.tables.publish(records)

    def _links(self, event_id: str, invocation_ids: list[str]) -> list[Record]:
        linked_at = time.time_ns()
        return [
            put(EVENT_LINK, f"{event_id}{SEP}{inv}", str(linked_at + i))
            for i, inv in enumerate(invocation_ids)
        ]

    def _all_events(self) -> list[EventRecord]:
        return [EventRecord.from_json(v, self.app) for _, v in self.tables.rows(EVENT)]

    def _hydrated(self, record: EventRecord) -> EventRecord:
        record.triggered_invocation_ids = self.get_invocations_triggered_by_event(record.event_id)
        return record

    def get_event(self, event_id: str) -> EventRecord | None:
        found = self.tables.row(EVENT, event_id)
        return None if found is None else self._hydrated(EventRecord.from_json(found, self.app))

    def _filtered_events(
        self,
        event_code: str | None,
        start_time: datetime | None,
        end_time: datetime | None,
        matched: bool | None,
        triggered: bool | None,
        emitted_by_invocation_id: str | None,
        emitted_by_task_id: str | None,
    ) -> list[EventRecord]:
        linked = self._linked_event_ids()
        checks: list[Callable[[EventRecord], bool]] = [
            lambda r: event_code is None or r.event_code == event_code,
            lambda r: start_time is None or r.timestamp >= start_time,
            lambda r: end_time is None or r.timestamp <= end_time,
            lambda r: matched is None or r.matched == matched,
            lambda r: triggered is None or (r.event_id in linked) == triggered,
            lambda r: (
                emitted_by_invocation_id is None or r.emitted_by_invocation_id == emitted_by_invocation_id
            ),
            lambda r: emitted_by_task_id is None or r.emitted_by_task_id == emitted_by_task_id,
        ]
        found = [r for r in self._all_events() if all(check(r) for check in checks)]
        found.sort(key=lambda r: r.timestamp, reverse=True)
        return found

    def _linked_event_ids(self) -> set[str]:
        return {row_id.split(SEP, 1)[0] for row_id, _ in self.tables.rows(EVENT_LINK)}

    def get_events(
        self,
        *,
        event_code: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        matched: bool | None = None,
        triggered: bool | None = None,
        emitted_by_invocation_id: str | None = None,
        emitted_by_task_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[EventRecord]:
        found = self._filtered_events(
            event_code, start_time, end_time, matched, triggered, emitted_by_invocation_id, emitted_by_task_id
        )
        return [self._hydrated(r) for r in found[offset : offset + limit]]

    def count_events(
        self,
        *,
        event_code: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        matched: bool | None = None,
        triggered: bool | None = None,
        emitted_by_invocation_id: str | None = None,
        emitted_by_task_id: str | None = None,
    ) -> int:
        return len(
            self._filtered_events(
                event_code,
                start_time,
                end_time,
                matched,
                triggered,
                emitted_by_invocation_id,
                emitted_by_task_id,
            )
        )

    def get_event_markers_in_timerange(
        self,
        start_time: datetime,
        end_time: datetime,
        *,
        event_code: str | None = None,
        state: str = "all",
        limit: int = 1000,
        offset: int = 0,
    ) -> EventMarkerPage:
        linked = self._linked_event_ids()
        states: dict[str, Callable[[EventRecord], bool]] = {
            "matched": lambda r: r.matched,
            "unmatched": lambda r: not r.matched,
            "triggered": lambda r: r.event_id in linked,
            "untriggered": lambda r: r.event_id not in linked,
        }
        in_state = states.get(state, lambda r: True)
        found = [
            r
            for r in self._all_events()
            if start_time <= r.timestamp <= end_time
            and (event_code is None or r.event_code == event_code)
            and in_state(r)
        ]
        found.sort(key=lambda r: r.timestamp)
        window = found[offset : offset + limit]
        markers = [
            EventMarker(
                event_id=r.event_id,
                event_code=r.event_code,
                timestamp=r.timestamp,
                matched=r.matched,
                triggered=r.event_id in linked,
                emitted_by_invocation_id=r.emitted_by_invocation_id,
                emitted_by_runner_context_id=r.emitted_by_runner_context_id,
            )
            for r in window
        ]
        return EventMarkerPage(
            markers=markers, total=len(found), truncated=offset + len(markers) < len(found)
        )

    def link_trigger_run_to_events(
        self, event_ids: list[str], invocation_id: str, *, trigger_run_id: str
    ) -> None:
        known = set(self.get_invocations_triggered_by_event_ids(event_ids))
        self.tables.publish(
            [
                r
                for event_id in event_ids
                if (event_id, invocation_id) not in known
                for r in self._links(event_id, [invocation_id])
            ]
        )

    def get_invocations_triggered_by_event_ids(self, event_ids: list[str]) -> list[tuple[str, str]]:
        """``(event id, invocation id)`` of every link of the events ``event_ids``."""
        return [(e, inv) for e in event_ids for inv, _ in self.tables.rows(EVENT_LINK, e)]

    def get_invocations_triggered_by_event(self, event_id: str) -> list[str]:
        links = self.tables.rows(EVENT_LINK, event_id)
        return [inv for inv, _ in sorted(links, key=lambda link: int(link[1]))]

    def list_event_codes(self) -> list[str]:
        return sorted({r.event_code for r in self._all_events()})

    # -- trigger runs ---------------------------------------------------------------------------------

    def store_trigger_run(self, run: TriggerRunRecord) -> None:
        self.tables.publish([put(RUN, run.trigger_run_id, run.to_json())])

    def get_trigger_run(self, trigger_run_id: str) -> TriggerRunRecord | None:
        found = self.tables.row(RUN, trigger_run_id)
        return None if found is None else TriggerRunRecord.from_json(found)

    def _all_runs(self) -> list[TriggerRunRecord]:
        runs = [TriggerRunRecord.from_json(v) for _, v in self.tables.rows(RUN)]
        runs.sort(key=_run_time)
        return runs

    def get_trigger_runs_for_event(self, event_id: str) -> list[TriggerRunRecord]:
        return [r for r in self._all_runs() if event_id in r.event_ids]

    def get_trigger_runs_for_invocation(self, invocation_id: str) -> list[TriggerRunRecord]:
        return [r for r in self._all_runs() if r.triggered_invocation_id == invocation_id]

    def get_trigger_runs_sourced_by_invocation(self, invocation_id: str) -> list[TriggerRunRecord]:
        return [r for r in self._all_runs() if invocation_id in r.source_invocation_ids]

    def get_trigger_runs_in_timerange(
        self,
        start_time: datetime,
        end_time: datetime,
        *,
        event_code: str | None = None,
        task_id_key: str | None = None,
        limit: int | None = None,
    ) -> list[TriggerRunRecord]:
        codes = {r.event_id: r.event_code for r in self._all_events()} if event_code is not None else {}
        found = [
            run
            for run in self._all_runs()
            if (run.executed_at or run.claimed_at) is not None
            and start_time <= _run_time(run) <= end_time
            and (task_id_key is None or run.task_id_key == task_id_key)
            and (event_code is None or any(codes.get(e) == event_code for e in run.event_ids))
        ]
        return found if limit is None else found[:limit]

    # -- retention ------------------------------------------------------------------------------------

    def _drop_events(self, event_ids: list[str]) -> None:
        links = [f"{e}{SEP}{inv}" for e, inv in self.get_invocations_triggered_by_event_ids(event_ids)]
        self.tables.publish(delete(EVENT, event_ids) + delete(EVENT_LINK, links))

    def _drop_runs(self, runs: list[TriggerRunRecord]) -> int:
        self.tables.publish(delete(RUN, (r.trigger_run_id for r in runs)))
        return len(runs)

    def _age_purge_events(self, threshold: datetime) -> list[str]:
        removed = [r.event_id for r in self._all_events() if r.timestamp < threshold]
        self._drop_events(removed)
        return removed

    def _age_purge_trigger_runs(self, threshold: datetime) -> int:
        now = datetime.now(UTC)
        return self._drop_runs(
            [r for r in self._all_runs() if (r.executed_at or r.claimed_at or now) < threshold]
        )

    def _cap_purge_events(self) -> list[str]:
        cap = int(self.conf.event_max_records)
        events = sorted(self._all_events(), key=lambda r: r.timestamp, reverse=True)
        if cap <= 0 or len(events) <= cap:
            return []
        removed = [r.event_id for r in events[cap:]]
        self._drop_events(removed)
        return removed

    def _cascade_delete_runs_for_events(self, event_ids: list[str]) -> int:
        targets = set(event_ids)
        return self._drop_runs([r for r in self._all_runs() if targets.intersection(r.event_ids)])

    def _cap_purge_trigger_runs(self) -> int:
        cap = int(self.conf.trigger_run_max_records)
        runs = sorted(self._all_runs(), key=_run_time, reverse=True)
        if cap <= 0 or len(runs) <= cap:
            return 0
        return self._drop_runs(runs[cap:])
