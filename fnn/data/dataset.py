"""The :class:`Dataset` record: what travels through the pipeline, explicit.

>>> d = Dataset(np.zeros((3, 2), np.float32), np.array([0, 1, 1]), ("no", "yes"), "toy")
>>> d
Dataset('toy', features=float32[3,2], labels=int64[3], classes=('no', 'yes'))
>>> len(d), d.n_features
(3, 2)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from attrs import cmp_using, field, frozen

from fnn.arrays import arrays_equal, readonly, shape_str
from fnn.data.lazy import ScaledRows, take_rows
from fnn.errors import FnnInputError


def class_indices(values: Iterable[Any]) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(indices, class_names)``: each label as its index among the sorted distinct labels, which name the classes,
    so labels 1..3 give three classes named '1', '2', '3' (no empty class 0). Numbers sort as numbers.

    >>> indices, names = class_indices([3, 1, 2, 3])
    >>> indices.tolist(), names
    ([2, 0, 1, 2], ('1', '2', '3'))
    """
    order, indices = np.unique(np.asarray(list(values)), return_inverse=True)
    return indices.astype(np.int64).reshape(-1), tuple(str(value) for value in order.tolist())


def _keep_readonly(value: Any) -> np.ndarray | ScaledRows:
    # A read-only array (a memory map opened read-only included) or lazily scaled rows are kept as they are.
    if isinstance(value, ScaledRows) or (isinstance(value, np.ndarray) and not value.flags.writeable):
        return value
    return readonly(value)


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _features_equal(a: np.ndarray | ScaledRows, b: np.ndarray | ScaledRows) -> bool:
    if isinstance(a, ScaledRows) or isinstance(b, ScaledRows):
        return a is b or arrays_equal(np.asarray(a), np.asarray(b))
    return arrays_equal(a, b)


def _describe(array: np.ndarray | ScaledRows) -> str:
    return repr(array) if isinstance(array, ScaledRows) else shape_str(array)


@frozen(hash=False, repr=False)
class Dataset:
    """``features`` (n, d) with samples in rows, ``labels`` (n,) integer classes or (n, k) float targets,
    ``class_names`` (empty for regression) and a ``name``. Arrays are read-only; ``features`` may also be
    :class:`ScaledRows`, integers scaled one batch at a time.

    >>> d = fnn.data.Dataset(np.eye(2, dtype=np.float32), np.array([1, 0]), ("a", "b"), "pair")
    >>> len(d), d.n_classes, d.features.flags.writeable
    (2, 2, False)
    """

    features: np.ndarray | ScaledRows = field(converter=_keep_readonly, eq=cmp_using(eq=_features_equal))
    labels: np.ndarray = field(converter=readonly, eq=cmp_using(eq=arrays_equal))
    class_names: tuple[str, ...] = field(default=(), converter=_names)
    name: str = "data"

    def __attrs_post_init__(self) -> None:
        if self.features.ndim != 2:
            raise FnnInputError(f"Dataset {self.name!r}: features must be 2-D (samples in rows), got {_describe(self.features)}.")
        if len(self.labels) != len(self.features):
            raise FnnInputError(
                f"Dataset {self.name!r}: {len(self.features)} feature rows but {len(self.labels)} labels."
            )
        if self.class_names and self.labels.dtype.kind in "iu" and len(self.labels):
            low, high = int(self.labels.min()), int(self.labels.max())
            if low < 0 or high >= len(self.class_names):
                raise FnnInputError(
                    f"Dataset {self.name!r}: labels must be in 0..{len(self.class_names) - 1} "
                    f"({len(self.class_names)} classes); got labels in {low}..{high}."
                )

    def __len__(self) -> int:
        return len(self.features)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, features={_describe(self.features)}, labels={shape_str(self.labels)}, "
            f"classes={self.class_names})"
        )

    @property
    def n_features(self) -> int:
        """The number of feature columns.

        >>> fnn.data.iris().n_features
        4
        """
        return self.features.shape[1]

    @property
    def n_classes(self) -> int:
        """The number of classes (0 for regression targets).

        >>> fnn.data.iris().n_classes, fnn.data.noisy_sine(10).n_classes
        (3, 0)
        """
        return len(self.class_names)

    def as_tuple(self) -> tuple[np.ndarray | ScaledRows, np.ndarray]:
        """``(features, labels)``, the batch form the pure functions take.

        >>> x, y = fnn.data.moons(6).as_tuple()
        >>> x.shape, y.tolist()
        ((6, 2), [1, 1, 0, 0, 1, 0])
        """
        return self.features, self.labels

    def subset(self, index: Any, name: str | None = None) -> Dataset:
        """The rows at ``index`` (a new Dataset).

        >>> fnn.data.iris().subset(np.arange(5), "first five")
        Dataset('first five', features=float32[5,4], labels=int64[5], classes=('setosa', 'versicolor', 'virginica'))
        """
        return Dataset(take_rows(self.features, index), self.labels[index], self.class_names, name or self.name)


TASKS = ("auto", "classification", "regression")
"""What a run learns: ``auto`` decides from the labels (:func:`for_task`), or the user says."""


def _numbers(names: tuple[str, ...]) -> np.ndarray | None:
    try:
        return np.array([float(name) for name in names])
    except ValueError:
        return None


def _single_row_classes(data: Dataset) -> int:
    return int(np.count_nonzero(np.bincount(data.labels, minlength=data.n_classes) == 1))


def _as_target(data: Dataset, values: np.ndarray) -> Dataset:
    return Dataset(data.features, values[data.labels].reshape(-1, 1), (), data.name)


def _as_classes(data: Dataset, names: tuple[str, ...], values: np.ndarray) -> Dataset:
    indices = np.searchsorted(values, data.labels[:, 0])
    return Dataset(data.features, indices.astype(np.int64), names, data.name)


def for_task(train: Dataset, test: Dataset, task: str, name: str = "task") -> tuple[Dataset, Dataset]:
    """``(train, test)`` as classes or as a regression target, as ``task`` says, decided on ``train`` and done alike
    to both; ``name`` words the setting in errors.

    Under ``auto`` whole-number labels stay classes while they look like classes: they become a number to regress
    when more than half of the distinct values (of more than two) occur in a single row each, as prices or
    counts do. ``regression`` turns numeric class names into a target column; ``classification`` turns whole-number
    targets into classes and refuses labels most of whose classes have a single row.

    >>> prices = Dataset(np.zeros((4, 1), np.float32), np.array([0, 1, 2, 3]), ("10", "12", "15", "40"), "prices")
    >>> for_task(prices, prices, "auto")[0].labels.ravel().tolist()
    [10.0, 12.0, 15.0, 40.0]
    >>> iris = fnn.data.iris()
    >>> for_task(iris, iris, "auto")[0].class_names
    ('setosa', 'versicolor', 'virginica')
    """
    if task not in TASKS:
        raise FnnInputError(f"{name} {task!r}: expected one of {', '.join(TASKS)}.")
    if task == "classification" and not train.n_classes:
        targets = [part.labels for part in (train, test)]
        if any(t.ndim != 2 or t.shape[1] != 1 or not np.array_equal(t, np.round(t)) for t in targets):
            raise FnnInputError(f"{name} classification: the target of {train.name!r} is not one column of whole numbers; classes need labels.")
        values = np.unique(np.concatenate(targets)[:, 0])
        names = tuple(str(int(value)) for value in values)
        train, test = _as_classes(train, names, values), _as_classes(test, names, values)
    single = _single_row_classes(train) if train.n_classes else 0
    mostly_single = train.n_classes > 2 and 2 * single > train.n_classes
    if task == "classification" and mostly_single:
        raise FnnInputError(
            f"{name} classification: {single} of the {train.n_classes} classes of {train.name!r} have a single "
            f"row, too few to learn a class from; if the label is a number to predict, say {name} regression."
        )
    if not train.n_classes or not (task == "regression" or (task == "auto" and mostly_single)):
        return train, test
    numbers = _numbers(train.class_names)
    if numbers is None:
        if task == "auto":
            return train, test
        raise FnnInputError(f"{name} regression: the labels of {train.name!r} are text ({', '.join(train.class_names[:3])}, ...), not numbers to predict.")
    return _as_target(train, numbers), _as_target(test, numbers)
