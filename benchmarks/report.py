"""The run's report: a Markdown table with each figure's ratio to its baseline, its JSON, and a chart.

Each figure is the median over the rounds. The ratio says how many times better than the
row's baseline a figure is (above 1: better), whichever way "better" points for it (more
writes per second, fewer microseconds): Redis for the side-by-side of state backends, pynenc's
SQLite stack for the whole stacks.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from benchmarks.backends import Backend


@dataclass(frozen=True, slots=True)
class Metric:
    """One row of the table.

    :param str key: Its id in the JSON.
    :param str label: Its name in the table.
    :param str unit: ``ops/s``, ``tasks/s``, ``events/s``, ``invocations/s`` or ``us`` (shown as µs or ms).
    :param Backend baseline: The column the others are compared with (in brackets).
    """

    key: str
    label: str
    unit: str
    baseline: Backend = Backend.REDIS

    @property
    def higher_is_better(self) -> bool:
        """Rates are better higher; durations lower."""
        return self.unit.endswith("/s")

    def show(self, value: float) -> str:
        """``value`` with its unit, to a sensible precision."""
        if self.unit != "us":
            return f"{value:,.0f} {self.unit}" if value >= 100 else f"{value:,.1f} {self.unit}"
        if value >= 1000:
            return f"{value / 1000:,.1f} ms" if value < 100_000 else f"{value / 1000:,.0f} ms"
        return f"{value:,.1f} µs" if value < 100 else f"{value:,.0f} µs"


class Results:
    """Every sample of the run: metric, backend, one value per round."""

    def __init__(self) -> None:
        self.metrics: dict[str, Metric] = {}
        self._values: dict[str, dict[Backend, list[float]]] = defaultdict(lambda: defaultdict(list))

    def add(self, metric: Metric, backend: Backend, value: float) -> None:
        """Record one round's value of ``metric`` on ``backend``."""
        self.metrics.setdefault(metric.key, metric)
        self._values[metric.key][backend].append(value)

    def median(self, key: str, backend: Backend) -> float | None:
        """The figure of ``key`` on ``backend``: the median of its rounds, if measured."""
        values = self._values[key].get(backend)
        return statistics.median(values) if values else None

    def ratio_to_baseline(self, key: str, backend: Backend) -> float | None:
        """How many times better than the metric's baseline (above 1: better)."""
        metric = self.metrics[key]
        mine, base = self.median(key, backend), self.median(key, metric.baseline)
        if mine is None or base is None or mine == 0 or base == 0:
            return None
        return mine / base if metric.higher_is_better else base / mine

    def to_json(self, machine: dict[str, str], settings: dict[str, object]) -> str:
        """Everything measured, with the machine and the run's settings."""
        figures = {
            key: {
                "label": metric.label,
                "unit": metric.unit,
                "baseline": metric.baseline.value,
                "rounds": {b.value: v for b, v in self._values[key].items()},
                "median": {b.value: self.median(key, b) for b in self._values[key]},
            }
            for key, metric in self.metrics.items()
        }
        return json.dumps({"machine": machine, "settings": settings, "figures": figures}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Results:
        """The results of :meth:`to_json` text, every round's value kept (to draw the chart again)."""
        results = cls()
        for key, figure in json.loads(text)["figures"].items():
            metric = Metric(key, figure["label"], figure["unit"], Backend(figure.get("baseline", "redis")))
            for backend, values in figure["rounds"].items():
                for value in values:
                    results.add(metric, Backend(backend), value)
        return results

    def table(self) -> str:
        """The Markdown table: a row per metric, a column per backend, the ratio to the baseline in brackets."""
        backends = list(Backend)
        lines = [
            "| figure | " + " | ".join(b.label for b in backends) + " |",
            "|---|" + "---|" * len(backends),
        ]
        for key, metric in self.metrics.items():
            cells = []
            for backend in backends:
                value = self.median(key, backend)
                if value is None:
                    cells.append("—")
                    continue
                ratio = self.ratio_to_baseline(key, backend)
                shown = metric.show(value)
                cells.append(
                    shown if ratio is None or backend is metric.baseline else f"{shown} ({ratio:.2g}×)"
                )
            lines.append(f"| {metric.label} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def markdown(self, machine: dict[str, str], settings: dict[str, object]) -> str:
        """The whole report: the machine, the settings, the table."""
        head = "\n".join(f"- **{name}**: {value}" for name, value in machine.items())
        run = ", ".join(f"{name} {value}" for name, value in settings.items())
        return (
            f"{head}\n- **run**: {run}\n\n{self.table()}\n\n"
            "Medians over the rounds; in brackets, how many times better than Redis (above 1: better),"
            " or than pynenc's SQLite stack in the rows of whole stacks.\n"
        )

    def chart(self, path: Path) -> None:
        """A PNG of the main figures side by side (matplotlib, no display needed)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        panels = [
            (
                "Writes (ops/s, log scale, higher is better)",
                [k for k, m in self.metrics.items() if m.unit == "ops/s"],
                True,
            ),
            (
                "Reads, p50 (µs, log scale, lower is better)",
                [k for k in self.metrics if k.startswith("read.") and not k.endswith(".p99")],
                True,
            ),
            (
                "Fleet (tasks/s, higher is better)",
                [k for k, m in self.metrics.items() if m.unit == "tasks/s"],
                False,
            ),
            (
                "Read after another process's write, p50 and p99 (µs, log scale)",
                [k for k in self.metrics if k.startswith("cross.")],
                True,
            ),
        ]
        figure, axes = plt.subplots(2, 2, figsize=(15, 9))
        for axis, (title, keys, log) in zip(axes.flat, panels, strict=True):
            self._bars(axis, keys, log)
            axis.set_title(title)
        figure.tight_layout()
        figure.savefig(path, dpi=90)
        plt.close(figure)

    def _bars(self, axis: object, keys: list[str], log: bool) -> None:
        backends = list(Backend)
        width = 0.8 / len(backends)
        for n, backend in enumerate(backends):
            values = [self.median(k, backend) or 0.0 for k in keys]
            positions = [i + n * width for i in range(len(keys))]
            axis.bar(positions, values, width, label=backend.label)  # type: ignore[attr-defined]
        axis.set_xticks([i + 0.4 - width / 2 for i in range(len(keys))])  # type: ignore[attr-defined]
        axis.set_xticklabels([self.metrics[k].label for k in keys], rotation=12, fontsize=8)  # type: ignore[attr-defined]
        if log:
            axis.set_yscale("log")  # type: ignore[attr-defined]
        axis.legend(fontsize=8)  # type: ignore[attr-defined]


if __name__ == "__main__":  # draw the chart of a saved run again: python -m benchmarks.report latest.json
    import sys

    saved = Path(sys.argv[1])
    Results.from_json(saved.read_text()).chart(saved.with_suffix(".png"))
    print(f"written: {saved.with_suffix('.png')}")
