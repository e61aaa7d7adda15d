"""From a :class:`~fnn.run.settings.RunConfig` to what training needs: data parts, network, optimiser, options.

The learning-rate schedule's durations are in epochs in a configuration; here, and only here, they become steps,
counted with :func:`~fnn.train.batches.batch_count` on the real training part (after the validation hold-out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
from attrs import field, frozen

from fnn.core.params import Params, init_params
from fnn.core.spec import NetworkSpec, network
from fnn.core.validate import prepare_targets
from fnn.data.csv import is_number, label_column
from fnn.data.dataset import Dataset, for_task
from fnn.data.lazy import ScaledRows
from fnn.data.sources import LoadedSource, csv_header, data_error, load_source, resolve_data, split_source
from fnn.data.transforms import Standardizer, fit_standardizer, standardize
from fnn.errors import FnnInputError
from fnn.limits import require_memory, training_bytes
from fnn.optim import Optimizer
from fnn.run.settings import RunConfig
from fnn.store.model import Model
from fnn.train.batches import batch_count
from fnn.train.loop import check_monitor, check_options, validation_split
from fnn.train.options import TRAINING_CHECKS, TrainOptions, resolve_optimizer, train_options
from fnn.train.state import TrainState

_Label = Callable[[str], str]
"""How an error message words a setting: ``str`` (its name) for Python, its flag for the command line."""


@frozen
class Prepared:
    """A configuration resolved before training, computed once and read by training, the record and the proofs:
    the data parts as the run uses them (``train`` the rows it trains on, ``validation`` those held out from them
    or None, ``test``), the initial params, the training options, the standardiser's statistics (or None),
    ``source``, where the data were read (``config.data`` resolved, :func:`fnn.data.sources.resolve_data`; None
    for data given as arrays), ``weights``, the sample weights of the ``train`` and ``validation`` rows (read
    from ``sample_weight``'s CSV column), or None, and ``targets``, a regression's target statistics when it
    trains on standardised targets (``train`` and ``validation`` hold them standardised, ``test`` as given)."""

    config: RunConfig
    train: Dataset
    validation: Dataset | None
    test: Dataset
    params: Params
    options: TrainOptions
    standardizer: Standardizer | None = None
    source: str | None = None
    weights: tuple[np.ndarray, np.ndarray | None] | None = field(default=None, eq=False)
    columns: tuple[str, ...] = ()
    targets: Standardizer | None = None
    label: _Label = field(default=str, eq=False, repr=False)
    """How errors word a setting (see :func:`prepare_run`)."""

    def model(self, state: TrainState) -> Model:
        """``state`` as a :class:`~fnn.store.model.Model` with this run's preprocessing: configuration,
        standardiser, class names, feature columns by name and target statistics."""
        return Model(state, self.config.to_dict(), self.standardizer, self.train.class_names, self.columns, self.targets)

    @property
    def optimizer(self) -> Optimizer:
        return self.options.optimizer

    @property
    def steps_per_epoch(self) -> int:
        """The mini-batches of one epoch (over ``train``, the rows trained on)."""
        return batch_count(len(self.train), self.config.batch_size)


def _build_spec(config: RunConfig, n_features: int, n_classes: int, n_targets: int = 1, label: _Label = str) -> NetworkSpec:
    """The :class:`NetworkSpec` of a configuration for data with ``n_features`` inputs and ``n_classes`` classes
    (0 for regression with ``n_targets`` target columns). A network the settings cannot make is refused naming
    them as ``label`` words them."""
    if n_classes == 0:
        n_outputs, output, loss = n_targets, "identity", "quadratic"
    elif n_classes == 2 and config.output in ("auto", "sigmoid"):
        n_outputs, output, loss = 1, "sigmoid", "binary_cross_entropy"
    else:
        n_outputs, output, loss = n_classes, "softmax", "cross_entropy"
    output = output if config.output == "auto" else config.output
    loss = loss if config.loss == "auto" else config.loss
    if n_classes and loss in ("mse", "quadratic") and config.output == "auto":
        output = "sigmoid"
    sizes = [n_features, *config.hidden, n_outputs]
    activation = config.activation
    if isinstance(activation, tuple):
        activations = [*activation, output] if len(activation) == len(sizes) - 2 else list(activation)
    else:
        activations = [activation] * (len(sizes) - 2) + [output]
    if len(activations) != len(sizes) - 1:
        raise FnnInputError(
            f"{label('activation')} {','.join(activation)} names {len(activation)} activations for "
            f"{len(config.hidden)} hidden layers; give one, one per hidden layer, or one per hidden layer and the output's.")
    try:
        return network(sizes, activation=activations, loss=loss, init=config.init, bias_init=config.bias_init)
    except FnnInputError as error:
        given = ", ".join(f"{label(name)} {_shown(getattr(config, name))}" for name in ("hidden", "activation", "output", "loss"))
        reason = str(error).replace(" in fnn.network", "").replace(" fnn.network", " the network")
        raise FnnInputError(f"The network of {given} ({'-'.join(map(str, sizes))}, output {activations[-1]}, loss {loss}) "
                            f"cannot be made: {reason}") from None


def _shown(value: object) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def build_optimizer(config: RunConfig, steps_per_epoch: int) -> Optimizer:
    """The optimiser of a configuration, built as :func:`fnn.fit` builds its own
    (:func:`~fnn.train.options.resolve_optimizer`), its schedule in steps of ``steps_per_epoch`` per epoch."""
    return resolve_optimizer(
        config.optimizer, config.lr, "train", momentum=config.momentum,
        weight_decay=config.weight_decay if config.optimizer == "adamw" else None, schedule=config.schedule,
        clip_norm=config.clip_norm, l2=config.l2, steps_per_epoch=steps_per_epoch, epochs=config.epochs,
    )


@contextmanager
def setting_errors(label: _Label) -> Iterator[None]:
    """Inside, an error about the value of a training setting (found by the function that trains with it) is
    reworded to name the setting as ``label`` words it: ``--metrics``, or the TOML key the user typed.

    >>> with setting_errors(lambda name: "--" + name.replace("_", "-")):
    ...     fnn.train.options.train_options(class_weight="0:-1")
    Traceback (most recent call last):
    ...
    fnn.errors.FnnInputError: --class-weight must be balanced, or class:weight pairs with classes >= 0 and finite weights >= 0, such as 0:1,1:5; got '0:-1'.
    """
    try:
        yield
    except FnnInputError as error:
        if error.argument not in TRAINING_CHECKS:
            raise
        raise error.worded(label(error.argument)) from None


def _validation_parts(config: RunConfig, params: Params, train: Dataset, label: _Label, test_rows: int | None = None) -> tuple[Dataset, Dataset | None, np.ndarray, np.ndarray | None]:
    """``(trained on, held out, kept rows, held-out rows)``: ``train`` split by :func:`fnn.train.loop.validation_split`
    (the one definition of a run's validation part), or ``train`` whole without validation.

    A validation fraction that leaves either side empty is refused, naming the setting as ``label(name)`` words it
    (and the test fraction too when it made the training part: ``test_rows`` is then what it took)."""
    if not config.validation:
        return train, None, np.arange(len(train)), None
    labels = prepare_targets(params, train.labels, len(train), "train", "labels")
    kept, held = validation_split(params, labels, config.validation, config.seed)
    if not len(kept) or not len(held):
        raise FnnInputError(
            f"{label('validation')} {config.validation} of {len(train)} training rows"
            + (f" (what {label('test_fraction')} {config.test_fraction} leaves of {len(train) + test_rows})" if test_rows is not None else "")
            + f" leaves {len(kept)} to train on and {len(held)} to validate; choose fractions that leave rows on both "
            f"sides (or 0 for no validation)."
        )
    return train.subset(kept), train.subset(held), kept, held


def _weight_column(config: RunConfig, parts: tuple[Dataset, Dataset]) -> tuple[tuple[Dataset, Dataset], np.ndarray | None]:
    """The CSV's ``sample_weight`` column taken out of the features of ``(train, test)``: the parts without it
    and the training rows' weights (float64 of the values as read), or None without the setting."""
    path = _csv_path(config)
    if config.sample_weight is None or path is None:
        return parts, None
    columns = [name for name in csv_header(path) if name != config.label and name not in config.drop]
    index = columns.index(config.sample_weight)
    weights = np.asarray(parts[0].features[:, index], dtype=np.float64)
    return tuple(Dataset(np.delete(d.features, index, axis=1), d.labels, d.class_names, d.name) for d in parts), weights  # type: ignore[return-value]


def _check_output_for_classes(config, train, label):
    """Class labels need two classes at least and an output whose values are class scores; refused before
    training in one line, in the data's words (not the network's that could not be made)."""
    if train.n_classes == 1:
        raise FnnInputError(
            f"{label('data')} {config.data}: the labels of {train.name!r} hold one class ({train.class_names[0]!r}); a "
            f"classifier needs at least two. Give data with rows of another class, or {label('task')} regression if "
            f"the label is a number to predict."
        )
    if train.n_classes and config.output not in ("auto", "softmax", "sigmoid"):
        raise FnnInputError(
            f"{label('output')} {config.output}: {train.name!r} has class labels ({train.n_classes} classes), which need "
            f"an output of class scores: softmax or sigmoid (auto chooses), also with {label('loss')} mse; for a number "
            f"to predict, say {label('task')} regression."
        )


def _needs_standardizing(config, features):
    if isinstance(features, ScaledRows):  # images scaled to [0, 1] batch by batch
        return config.standardize is True
    if isinstance(config.standardize, bool):
        return config.standardize
    return bool(features.min() < 0 or features.max() > 1)


def _standardized(parts, stats):
    return tuple(Dataset(standardize(d.features, stats), d.labels, d.class_names, d.name) for d in parts)


def _target_statistics(config, train):
    """A regression's target statistics, fitted on the training part, when its targets are standardised: under
    ``standardize`` auto or true, for an identity output (a bounded output keeps the targets as given)."""
    if train.n_classes or config.standardize is False or config.output not in ("auto", "identity"):
        return None
    return fit_standardizer(train.labels.reshape(len(train), -1))


def _check_fits_in_memory(spec, config, rows, label):
    """Refuse a network whose training would not fit in this machine's memory (a typo in the sizes), before
    numpy tries to allocate it."""
    hidden = ",".join(map(str, config.hidden)) or "(none)"
    require_memory(
        training_bytes(spec.sizes, np.dtype(config.dtype).itemsize, min(config.batch_size, rows)),
        f"{label('hidden')} {hidden} with {label('batch_size')} {config.batch_size}: training the network "
        f"{'-'.join(map(str, spec.sizes))} ({config.dtype})",
    )


def _csv_path(config):
    kind, _, path = config.data.partition(":")
    return path if kind.strip().lower() == "csv" else None


def _check_columns(config, path, label):
    """An explicit label column or dropped column that the table's header does not have, refused naming the flag
    (a file that cannot be read is left to the loader, which says why)."""
    try:
        header = csv_header(path)
    except (FnnInputError, OSError):
        return
    named = (("label", () if config.label is None else (config.label,)), ("drop", config.drop),
             ("sample_weight", () if config.sample_weight is None else (config.sample_weight,)))
    for name, columns in named:
        for column in columns:
            if column not in header:
                raise FnnInputError(
                    f"{label(name)} {column}: {path} has no column named {column!r}; expected one of its header's "
                    f"names {header}."
                )


def _name_flags(message, label):
    """The loader's hints for Python callers (``label='NAME'``) reworded for the command line, whose ``label``
    names flags (Python's ``str`` keeps them)."""
    if label is str:
        return message
    flag = "--label COLUMN"
    return (message.replace("(label='NAME' or an index)", f"with {flag}")
            .replace("give the label column by index (label=0 for the first)", f"give the table a header row and name the label column with {flag}")
            .replace("or the label column given by index (label=0 for the first)", f"or a header row and {flag} naming the label column"))


def _feature_columns(config):
    """The names of a CSV table's feature columns in training order (its header without the label and dropped
    columns), or ``()`` for data without named columns."""
    path = _csv_path(config)
    if path is None:
        return ()
    header = csv_header(path)
    if any(map(is_number, header)):  # no header row: columns by position only
        return ()
    return tuple(name for name in header if name not in (config.label, config.sample_weight) and name not in config.drop)


def _with_label_name(config, path):
    """``config`` with the label column it recognised by name written in, so the record and predict name it."""
    if config.label is not None:
        return config
    header = csv_header(path)  # the loader recognised the label by name, so this is a header row
    return config.replace(label=header[label_column(header, source=path)])


def _resolved(config, label):
    """``config`` with its data named by the location they are read from (a path absolute, ``~`` expanded)."""
    try:
        return config.replace(data=resolve_data(config.data))
    except FnnInputError as error:
        raise FnnInputError(_name_flags(data_error(f"{label('data')} {config.data}", config.data, error), label)) from None


class _TaskError(Exception):
    """A refusal of the task setting, which ``_load`` passes on as it is (not as a data set's error)."""


def _task_of_table(source, config, label):
    try:
        return for_task(source, source, config.task, label("task"))[0]
    except FnnInputError as error:
        raise _TaskError(str(error)) from None


def _load(config, source, label):
    config = _resolved(config, label)
    path = _csv_path(config)
    if path is not None:
        _check_columns(config, path, label)
        if source is not None and (config.label is not None or config.drop):
            source = None  # a shared source was read with the default columns; this run names its own
    try:
        if source is None:
            source = load_source(config.data, config.dtype, label=config.label if path else None, drop=config.drop if path else ())
        if path is not None:
            config = _with_label_name(config, path)
        if isinstance(source, Dataset):  # one table: decide classes or regression before splitting it by class
            source = _task_of_table(source, config, label)
        return config, split_source(source, config.data, config.seed, config.test_fraction, config.dtype), not isinstance(source, tuple)
    except _TaskError as error:
        raise FnnInputError(str(error)) from None
    except FnnInputError as error:
        raise FnnInputError(_name_flags(data_error(f"{label('data')} {config.data}", config.data, error), label)) from None
    except OSError as error:  # a folder where a file was expected, a file that cannot be read, ...
        raise FnnInputError(data_error(f"{label('data')} {config.data}", config.data, error)) from None


def prepare_run(config: RunConfig, data: tuple[Dataset, Dataset] | None = None, source: LoadedSource = None,
                label: _Label | None = None) -> Prepared:
    """Resolve a configuration: load the data (or split a ``source`` from :func:`fnn.data.sources.load_source`,
    or take ``data = (train, test)``), standardise with training statistics (a regression's targets too, see
    :class:`Prepared`), hold out the validation part, build network and optimiser.

    ``label(name)`` words a setting in error messages (the command line passes one that names the flag)."""
    label = label or str
    where, split = None, False
    if data is None:
        config, (train, test), split = _load(config, source, label)
        where = config.data
    else:
        train, test = data
    (train, test), weights = _weight_column(config, (train, test))
    train, test = for_task(train, test, config.task, label("task"))
    _check_output_for_classes(config, train, label)
    stats = None
    if _needs_standardizing(config, train.features):
        stats = fit_standardizer(train.features)
        train, test = _standardized((train, test), stats)
    n_targets = 1 if train.labels.ndim == 1 else train.labels.shape[1]
    targets = _target_statistics(config, train)
    if targets is not None:  # trained on standardised targets; the test part keeps its own units
        train = Dataset(train.features, standardize(train.labels.reshape(len(train), -1), targets), (), train.name)
    spec = _build_spec(config, train.n_features, train.n_classes, n_targets, label)
    _check_fits_in_memory(spec, config, len(train), label)
    params = init_params(spec, seed=config.seed, dtype=config.dtype)
    train, validation, kept, held = _validation_parts(config, params, train, label, len(test) if split else None)
    parts = None if weights is None else (weights[kept], None if held is None else weights[held])
    with setting_errors(label):
        options = _options(config, train, validation, parts)
        check_options(params, options, "train")  # before the run says what it trains
        if config.patience:
            check_monitor(params, config.monitor, "train")
    return Prepared(config, train, validation, test, params, options, stats, where, parts,
                    _feature_columns(config) if data is None else (), targets, label)


def _options(config, train, validation, parts):
    return train_options(
        "train",
        optimizer=build_optimizer(config, batch_count(len(train), config.batch_size)),
        batch_size=config.batch_size,
        seed=config.seed,
        validation=validation if parts is None or validation is None else (validation.features, validation.labels, parts[1]),
        drop_rate=config.drop_rate,
        diagnostics=config.diagnostics,
        sample_weight=None if parts is None else parts[0],
        class_weight=config.class_weight,
        metrics=config.metrics,
        train_metrics=config.train_metrics,
    )
