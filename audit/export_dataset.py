"""An export folder that grows by parts: each run writes only what the previous runs did not.

The folder's manifest (:data:`MANIFEST_NAME`) names the log it was exported from (cluster, topic
and Kafka's topic id, app, format) and, per part, the files written and the offsets they cover;
``next_offsets`` is where the next run starts. A run writes its files, then records them in the
manifest (replaced atomically): a run that dies before that leaves files the manifest does not
name, and the next run deletes them before writing, so no event is ever in two parts.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pynenc_kafka.schemas.errors import KafkaBackendError

#: The manifest's file name, in the export folder.
MANIFEST_NAME = "_pynenc_kafka_export.json"


class ExportFolderError(KafkaBackendError):
    """The export folder holds something else than an export of this log in this format."""


@dataclass(frozen=True)
class ExportedLog:
    """The log (and format) an export folder holds.

    :param str cluster_id: The cluster's id.
    :param str topic: The app's log.
    :param str topic_id: Kafka's id of the topic (a topic created again has another).
    :param str app_id: The app.
    :param str format: ``"parquet"`` or ``"avro"``.
    """

    cluster_id: str
    topic: str
    topic_id: str
    app_id: str
    format: str


@dataclass
class ExportManifest:
    """What an export folder holds."""

    log: ExportedLog
    next_offsets: dict[int, int] = field(default_factory=dict)
    parts: list[dict[str, Any]] = field(default_factory=list)

    def files(self) -> set[str]:
        """Every file the parts hold, relative to the folder."""
        return {name for part in self.parts for name in part["files"]}

    def to_json(self) -> str:
        return json.dumps(
            {
                "log": self.log.__dict__,
                "next_offsets": {str(p): o for p, o in sorted(self.next_offsets.items())},
                "parts": self.parts,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> ExportManifest:
        body = json.loads(text)
        return cls(
            ExportedLog(**body["log"]),
            {int(p): int(o) for p, o in body["next_offsets"].items()},
            list(body["parts"]),
        )


class ExportFolder:
    """A folder of parts of one log's export.

    :param Path path: The folder.
    :param ExportedLog log: The log exported into it now.
    """

    def __init__(self, path: Path, log: ExportedLog) -> None:
        self.path = path
        self.log = log
        self.manifest_path = path / MANIFEST_NAME

    def open(self, force: bool) -> ExportManifest:
        """The folder's manifest (a new one for a new or empty folder, or with ``force``).

        Files of a run that did not finish are deleted.

        :param bool force: Delete a previous export of this folder and start over.
        :raises ExportFolderError: If the folder holds anything else, or an export of another log.
        """
        if self.path.exists() and not self.path.is_dir():
            raise ExportFolderError(f"{self.path} is a file, not a folder: give a new or empty folder")
        if not self.path.exists() or not any(self.path.iterdir()):
            self.path.mkdir(parents=True, exist_ok=True)
            return ExportManifest(self.log)
        if not self.manifest_path.is_file():
            raise ExportFolderError(
                f"{self.path} is not empty and holds no pynenc-kafka export ({MANIFEST_NAME}): "
                "give a new or empty folder"
            )
        try:
            manifest = ExportManifest.from_json(self.manifest_path.read_text())
        except (ValueError, KeyError, TypeError) as exc:
            raise ExportFolderError(f"{self.manifest_path} is not a readable export manifest: {exc}") from exc
        if force:
            self._delete(manifest.files() | {MANIFEST_NAME})
            self._delete_unlisted(set())
            return ExportManifest(self.log)
        if manifest.log != self.log:
            raise ExportFolderError(
                f"{self.path} holds an export of {manifest.log.format} events of app {manifest.log.app_id!r} "
                f"({manifest.log.topic}, topic id {manifest.log.topic_id}), not of this log in this format "
                f"({self.log.format}, {self.log.topic}, topic id {self.log.topic_id}): use --force to start "
                "over, or another folder"
            )
        self._delete_unlisted(manifest.files())
        return manifest

    def part_name(self, manifest: ExportManifest) -> str:
        """The name of the next part (``part-00000``, ``part-00001``, ...)."""
        return f"part-{len(manifest.parts):05d}"

    def commit(
        self,
        manifest: ExportManifest,
        files: list[Path],
        start: dict[int, int],
        stop: dict[int, int],
        events: int,
    ) -> None:
        """Record a part written and where the next run starts.

        :param manifest: The manifest :meth:`open` returned (updated in place).
        :param files: The part's files (in the folder).
        :param start: Offsets the part starts at, per partition.
        :param stop: Offsets it stops before, per partition: the next run starts there.
        :param int events: Events it holds.
        """
        manifest.parts.append(
            {
                "part": self.part_name(manifest),
                "files": sorted(p.relative_to(self.path).as_posix() for p in files),
                "events": events,
                "start_offsets": {str(p): o for p, o in sorted(start.items())},
                "stop_offsets": {str(p): o for p, o in sorted(stop.items())},
                "written_at": datetime.now(UTC).isoformat(),
            }
        )
        manifest.next_offsets.update(stop)
        partial = self.manifest_path.with_name(MANIFEST_NAME + ".partial")
        partial.write_text(manifest.to_json())
        partial.replace(self.manifest_path)

    def _delete(self, names: set[str]) -> None:
        for name in names:
            (self.path / name).unlink(missing_ok=True)

    def _delete_unlisted(self, listed: set[str]) -> None:
        """Delete part files no manifest names (a run that died before recording them)."""
        for path in sorted(self.path.rglob("part-*")):
            if path.is_file() and path.relative_to(self.path).as_posix() not in listed:
                path.unlink()
        for folder in sorted(self.path.iterdir()):
            if folder.is_dir() and not any(folder.iterdir()):
                shutil.rmtree(folder)
