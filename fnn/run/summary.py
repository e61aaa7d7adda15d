"""A sweep's results: the summary of its records (one row per configuration, seeds pooled: mean, standard
deviation, range and 95% confidence half-width of each validation metric, best first), the chosen configuration's
test metrics, and the :class:`SweepResult` (with a halving sweep's :class:`Rung` s).

>>> round(t975(9), 4)
2.2622
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from attrs import frozen

from fnn.core.scores import greater_is_better
from fnn.errors import FnnInputError


@frozen
class SweepResult:
    """Every run's record (in grid order), the summary rows (best validation first), how the sweep ran, the
    chosen configuration's test metrics (``chosen_test``: each metric's mean and std over its seeds), the runs
    kept from before (``skipped``) and the validation metric ranked on. A halving sweep adds its ``rungs``, the
    epochs it trained and those the full grid would have; its ``records`` are the chosen configuration's runs.

    >>> result = fnn.sweep({"data": "iris", "hidden": [4], "epochs": 2}, {"lr": [0.5, 0.05]}, [0, 1], engine="sequential")
    >>> len(result.records), [row["runs"] for row in result.summary], result.ranked_on, result.chosen_test["seeds"]
    (4, [2, 2], 'val_accuracy', [0, 1])
    """

    records: tuple[dict[str, Any], ...]
    summary: tuple[dict[str, Any], ...]
    engine: str
    chosen_test: dict[str, Any]
    skipped: int = 0
    ranked_on: str = "val_loss"
    rungs: tuple[Rung, ...] = ()
    epochs_trained: int = 0
    epochs_full_grid: int = 0

    @property
    def chosen(self) -> dict[str, Any]:
        """The chosen configuration: the grid's keys and their values."""
        return dict(self.chosen_test["config"])

@frozen
class Rung:
    """One rung: the epochs every configuration on it has trained (in all), the configurations ranked best first
    (``config``: the grid's keys; ``score``: the mean validation metric over seeds, None for one that diverged)
    and how many of them went on.

    >>> result = fnn.sweep({"data": "iris", "hidden": [4], "epochs": 2}, {"lr": [0.5, 1e-4]}, [0], engine="sequential", halving={"factor": 2})
    >>> first = result.rungs[0]
    >>> first.epochs, [row["config"] for row in first.ranked], first.promoted
    (1, [{'lr': 0.5}, {'lr': 0.0001}], 1)
    """

    epochs: int
    ranked: tuple[dict[str, Any], ...]
    promoted: int

def _group_key(config: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in config.items() if k != "seed"}, sort_keys=True)


def mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, std


# Student's t at 0.975 for 1 to 30 degrees of freedom; beyond, the Cornish-Fisher expansion around the normal
# quantile is within 1e-4 of it. Tabulated so the library needs no scipy.
_T975 = (12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
         2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
         2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272)


def t975(degrees: int) -> float:
    """The 0.975 quantile of Student's t with ``degrees`` degrees of freedom (two-sided 95%).

    >>> t975(4), round(t975(100), 3)
    (2.776445, 1.984)
    """
    if degrees <= len(_T975):
        return _T975[degrees - 1]
    z, v = 1.959964, degrees
    return z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2) + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)


def spread(name: str, values: Sequence[float]) -> dict[str, float]:
    """``name``'s mean, sample standard deviation, min, max and the half-width of the 95% confidence interval of
    the mean over seeds (Student's t; 0 for one seed), keyed ``{name}_mean``, ``_std``, ``_min``, ``_max``, ``_ci95``.

    >>> row = spread("val_accuracy", [0.9, 0.8, 0.7])
    >>> round(row["val_accuracy_mean"], 6), round(row["val_accuracy_std"], 6), row["val_accuracy_max"], round(row["val_accuracy_ci95"], 4)
    (0.8, 0.1, 0.9, 0.2484)
    """
    mean, std = mean_std(list(values))
    ci = t975(len(values) - 1) * std / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return {f"{name}_mean": mean, f"{name}_std": std, f"{name}_min": min(values), f"{name}_max": max(values), f"{name}_ci95": ci}


def ranking_metric(rows: Sequence[dict[str, Any]], monitor: str | None = None) -> tuple[str, bool]:
    if monitor is not None:
        if not (rows and all(f"{monitor}_mean" in row for row in rows)):
            raise FnnInputError(f"The sweep ranks on {monitor!r}, which not every run recorded (add it to metrics).")
        return monitor, greater_is_better(monitor)
    for metric, higher in (("val_accuracy", True), ("val_r2", True), ("val_loss", False)):
        if rows and all(f"{metric}_mean" in row for row in rows):
            return metric, higher
    raise FnnInputError("The sweep's records have no validation metrics to rank on (were they run with validation 0?).")


def ranking_monitor(records: Sequence[dict[str, Any]]) -> str | None:
    """The validation metric the runs' ``monitor`` setting names when it is one they all share other than the
    default ``val_loss`` (``val_f1_macro``, ...): the sweep ranks on it. None: the default ranking.

    >>> ranking_monitor([{"config": {"monitor": "val_f1_macro"}}]), ranking_monitor([{"config": {"monitor": "val_loss"}}])
    ('val_f1_macro', None)
    """
    monitors = {record["config"].get("monitor", "val_loss") for record in records}
    monitor = monitors.pop() if len(monitors) == 1 else None
    return monitor if monitor is not None and monitor.startswith("val_") and monitor != "val_loss" else None


def summarize(records: Sequence[dict[str, Any]], varying: Sequence[str] | None = None) -> tuple[dict[str, Any], ...]:
    """One row per configuration (seeds pooled): the mean, sample standard deviation, min, max and 95% confidence
    half-width over seeds (see :func:`spread`) of each **validation** metric (``val_accuracy``, ``val_r2``,
    ``val_loss`` and the runs' chosen ``metrics``), best first: on the runs' ``monitor`` when it names another
    validation metric (``val_f1_macro``: highest first; see :func:`ranking_monitor`), else highest validation
    accuracy or R^2, else lowest validation loss. Test metrics are left out; :func:`chosen_test` gives the chosen
    row's. ``varying`` names the keys shown per row."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(_group_key(record["config"]), []).append(record)
    rows = []
    for runs in groups.values():
        config = runs[0]["config"]
        row: dict[str, Any] = {"config": {k: config[k] for k in (varying or [])}, "runs": len(runs), "seeds": sorted(r["seed"] for r in runs)}
        for metric in ("accuracy", "r2", "loss", *config.get("metrics", ())):
            values = [r.get("validation_metrics", {}).get(metric) for r in runs]
            if values and all(v is not None for v in values):
                row.update(spread(f"val_{metric}", values))
        rows.append(row)
    metric, higher = ranking_metric(rows, ranking_monitor(records))
    rows.sort(key=lambda r: -r[f"{metric}_mean"] if higher else r[f"{metric}_mean"])
    return tuple(rows)


def chosen_test(records: Sequence[dict[str, Any]], row: dict[str, Any]) -> dict[str, Any]:
    """The test metrics of the configuration of summary ``row`` (the chosen one): each metric's :func:`spread` over
    its seeds, and the seeds. The only place a sweep reports test metrics."""
    key = json.dumps({**row["config"]}, sort_keys=True)
    runs = [r for r in records if json.dumps({k: r["config"][k] for k in row["config"]}, sort_keys=True) == key]
    result: dict[str, Any] = {"config": row["config"], "seeds": sorted(r["seed"] for r in runs)}
    for metric in ("accuracy", "r2", "loss"):
        values = [r["final_metrics"][metric] for r in runs if metric in r["final_metrics"]]
        if values:
            result.update(spread(metric, values))
    return result
