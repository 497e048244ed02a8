"""``KafkaTrigger``: pynenc's trigger component, its facts events of the app's log, its claims decided in log order.

Conditions, trigger definitions, valid conditions, events and trigger runs are rows stored by
``TriggerRowStored`` events (dropped by ``TriggerRowsDeleted``), all on the app's partition, and
read back from the local projection's ``triggers`` view after the read barrier of that partition.
A trigger-run claim (``TriggerRunClaimRequested``) and a cron condition's execution
(``CronExecutionRequested``) are *requests*: every host's projection decides them alike, in the
log's order (see :mod:`pynenc_kafka.projections.views.triggers`), and the requester reads the
outcome once its own request is applied. So a cron run fires once across the fleet, and a
trigger run is executed by one host, whichever asked first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from pynenc.conf.validation_trigger import validate_trigger_config
from pynenc.identifiers.task_id import TaskId
from pynenc.models.trigger_definition_dto import TriggerDefinitionDTO
from pynenc.trigger.conditions import CompositeLogic, ConditionContext, TriggerCondition, ValidCondition

from pynenc_kafka.components.trigger_monitoring import TriggerMonitoring
from pynenc_kafka.components.trigger_tables import SEP, TriggerTables, delete, put
from pynenc_kafka.core.app_log import AppLog, Record
from pynenc_kafka.core.app_projection import AppSpec
from pynenc_kafka.core.conf import ConfigTriggerKafka
from pynenc_kafka.core.fork_bridge import SERVER as FORK_BRIDGE
from pynenc_kafka.core.fork_bridge import through_parent
from pynenc_kafka.observability.server import serve_configured_metrics
from pynenc_kafka.projections.store import ViewStore
from pynenc_kafka.projections.views import triggers
from pynenc_kafka.schemas.kinds import EventKind, PurgeScope
from pynenc_kafka.schemas.timestamps import from_micros

if TYPE_CHECKING:
    from pynenc.app import Pynenc

CONDITION, TRIGGER, CONDITION_TRIGGER = "condition", "trigger", "condition_trigger"
SOURCE_TASK, VALID_CONDITION = "source_task", "valid_condition"


class KafkaTrigger(TriggerMonitoring):
    """A pynenc trigger whose state every host of the fleet shares through the app's Kafka log.

    Select it with ``PYNENC__TRIGGER_CLS=KafkaTrigger`` (``.kafka()`` does).

    :param Pynenc app: The pynenc app.
    """

    def __init__(self, app: Pynenc) -> None:
        super().__init__(app)
        self.bridge_seconds = self.conf.kafka_fork_bridge_seconds
        self._log = AppLog(AppSpec.from_config(self.conf, app.app_id), self.bridge_seconds)
        self.tables = TriggerTables(self._log)
        FORK_BRIDGE.register(self)
        serve_configured_metrics(self.conf)

    @cached_property
    def conf(self) -> ConfigTriggerKafka:
        config = ConfigTriggerKafka(
            config_values=self.app.config_values, config_filepath=self.app.config_filepath
        )
        validate_trigger_config(config)
        return config

    # -- conditions and trigger definitions ----------------------------------------------------------

    def _register_condition(self, condition: TriggerCondition) -> None:
        self.tables.publish([put(CONDITION, condition.condition_id, condition.to_json(self.app))])

    @through_parent()
    def get_condition(self, condition_id: str) -> TriggerCondition | None:
        found = self.tables.row(CONDITION, condition_id)
        return None if found is None else TriggerCondition.from_json(found, self.app)

    def _get_all_conditions(self) -> list[TriggerCondition]:
        return [TriggerCondition.from_json(v, self.app) for _, v in self.tables.rows(CONDITION)]

    def register_trigger(self, trigger: TriggerDefinitionDTO) -> None:
        row = {
            "task_id": trigger.task_id.key,
            "condition_ids": list(trigger.condition_ids),
            "logic": trigger.logic.value,
            "argument_provider_json": trigger.argument_provider_json,
        }
        records = [put(TRIGGER, trigger.trigger_id, json.dumps(row))]
        records += [put(CONDITION_TRIGGER, f"{c}{SEP}{trigger.trigger_id}") for c in trigger.condition_ids]
        self.tables.publish(records)

    @through_parent()
    def _get_trigger(self, trigger_id: str) -> TriggerDefinitionDTO | None:
        found = self.tables.row(TRIGGER, trigger_id)
        return None if found is None else _trigger_dto(trigger_id, found)

    @through_parent()
    def get_triggers_for_condition(self, condition_id: str) -> list[TriggerDefinitionDTO]:
        def read(store: ViewStore) -> list[TriggerDefinitionDTO]:
            found = []
            for trigger_id, _ in triggers.rows(store, CONDITION_TRIGGER, condition_id):
                row = triggers.row(store, TRIGGER, trigger_id)
                if row is not None:
                    found.append(_trigger_dto(trigger_id, row))
            return found

        return self.tables.read(read)

    def clean_task_trigger_definitions(self, task_id: TaskId) -> None:
        """Drop the task's trigger definitions and their condition links (conditions stay)."""
        records: list[Record] = []
        for trigger_id, value in self.tables.rows(TRIGGER):
            dto = _trigger_dto(trigger_id, value)
            if dto.task_id == task_id:
                records += delete(TRIGGER, [trigger_id])
                records += delete(CONDITION_TRIGGER, [f"{c}{SEP}{trigger_id}" for c in dto.condition_ids])
        self.tables.publish(records)

    def _register_source_task_condition(self, task_id: TaskId, condition_id: str) -> None:
        self.tables.publish([put(SOURCE_TASK, f"{task_id.key}{SEP}{condition_id}")])

    @through_parent()
    def get_conditions_sourced_from_task(
        self, task_id: TaskId, context_type: type[ConditionContext] | None = None
    ) -> list[TriggerCondition]:
        """The conditions watching ``task_id`` (of ``context_type``), in one read after the barrier:
        pynenc asks on every status change, result and failure it reports."""

        def read(store: ViewStore) -> list[str]:
            found = (
                triggers.row(store, CONDITION, c) for c, _ in triggers.rows(store, SOURCE_TASK, task_id.key)
            )
            return [row for row in found if row is not None]

        conditions = [TriggerCondition.from_json(row, self.app) for row in self.tables.read(read)]
        return [c for c in conditions if context_type is None or c.context_type == context_type]

    # -- valid conditions ----------------------------------------------------------------------------

    def record_valid_condition(self, valid_condition: ValidCondition) -> None:
        self.record_valid_conditions([valid_condition])

    def record_valid_conditions(self, valid_conditions: list[ValidCondition]) -> None:
        self.tables.publish(
            [put(VALID_CONDITION, vc.valid_condition_id, vc.to_json(self.app)) for vc in valid_conditions]
        )

    @through_parent()
    def get_valid_conditions(self) -> dict[str, ValidCondition]:
        return {vid: ValidCondition.from_json(v, self.app) for vid, v in self.tables.rows(VALID_CONDITION)}

    def clear_valid_conditions(self, conditions: Iterable[ValidCondition]) -> None:
        self.tables.publish(delete(VALID_CONDITION, (c.valid_condition_id for c in conditions)))

    # -- cron executions and claims, decided in log order ---------------------------------------------

    @through_parent()
    def get_last_cron_execution(self, condition_id: str) -> datetime | None:
        found = self.tables.read(lambda store: triggers.last_cron_execution(store, condition_id))
        return None if found is None else from_micros(found)

    def store_last_cron_execution(
        self,
        condition_id: str,
        execution_time: datetime,
        expected_last_execution: datetime | None = None,
    ) -> bool:
        """Record a cron execution if the last one is still ``expected_last_execution`` (``None``:
        unconditionally); decided in log order, so of two hosts expecting the same one, one wins."""
        payload = {
            "condition_id": condition_id,
            "execution_time": execution_time,
            "expected_last_execution": expected_last_execution,
        }
        return self.tables.decide(EventKind.CRON_EXECUTION_REQUESTED, payload)

    def claim_trigger_run(self, trigger_run_id: str, expiration_seconds: int = 60) -> bool:
        """Claim a trigger run for ``expiration_seconds``: granted to the first request in log order
        while no claim of it holds."""
        return self._claim(f"run:{trigger_run_id}", expiration_seconds)

    def claim_trigger_execution(
        self, trigger_id: str, valid_condition_id: str, expiration_seconds: int = 60
    ) -> bool:
        """Claim the execution of a trigger for a valid condition, as :meth:`claim_trigger_run`."""
        return self._claim(f"execution:{trigger_id}:{valid_condition_id}", expiration_seconds)

    def _claim(self, claim_key: str, expiration_seconds: int) -> bool:
        now = datetime.now(UTC)
        payload = {
            "claim_key": claim_key,
            "requested_at": now,
            "expires_at": now + timedelta(seconds=expiration_seconds),
        }
        return self.tables.decide(EventKind.TRIGGER_RUN_CLAIM_REQUESTED, payload)

    # -- purge ---------------------------------------------------------------------------------------

    def _purge(self) -> None:
        """Drop the trigger's views with a scoped purge marker (the other components' views stay);
        the log keeps their history. Returns once this process's views show it."""
        self._log.purge(PurgeScope.TRIGGER)


def _trigger_dto(trigger_id: str, value: str) -> TriggerDefinitionDTO:
    row = json.loads(value)
    return TriggerDefinitionDTO(
        trigger_id=trigger_id,
        task_id=TaskId.from_key(row["task_id"]),
        condition_ids=list(row["condition_ids"]),
        logic=CompositeLogic(row["logic"]),
        argument_provider_json=row["argument_provider_json"],
    )
