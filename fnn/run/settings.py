"""The run settings, each defined once, as a field of :class:`RunConfig`: name, type, default, unit, help, the
optimisers it applies to, its check.

Everything else is derived from :data:`SETTINGS` (those fields): the defaults, the TOML keys (the setting's name; ``-`` and ``_``
are the same, so ``batch-size`` and ``batch_size`` both work), the ``fnn train`` flags (``--batch-size``), the
validation and every error message, which names the flag or the TOML key the value came from.
:func:`resolve_config` turns layers of given values into one frozen :class:`RunConfig`, checked once.

>>> config = resolve_config(({"data": "iris", "hidden": [6], "epochs": 5}, PYTHON))
>>> config.optimizer, config.batch_size, config.hidden
('sgd', 32, (6,))
>>> resolve_config(({"momentum": 0.9, "optimizer": "adam"}, PYTHON))
Traceback (most recent call last):
...
fnn.errors.FnnInputError: The configuration key 'momentum' applies only to the optimizers sgd, momentum, nesterov; this run uses 'adam'.
"""

from __future__ import annotations

import numbers
import operator
import os
from collections.abc import Callable, Mapping
from typing import Any

from attrs import field, fields, frozen

from fnn.core.activations import ACTIVATIONS, get_activation
from fnn.core.initializers import INITIALIZERS, get_initializer
from fnn.core.losses import LOSSES, get_loss
from fnn.core.scores import METRICS
from fnn.data.dataset import TASKS
from fnn.data.sources import data_kind, known_names
from fnn.errors import FnnInputError, closest_name, shown_names
from fnn.optim import OPTIMIZERS, get_schedule
from fnn.train.options import (
    MAX_THREADS,
    TRAINING_CHECKS,
    BadValue,
    bool_check,
    choice_check,
    from_numpy,
    number_check,
    unwatched,
)
from fnn.train.options import optional_check as _optional

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""The environment variables that set BLAS threads, in the order a run's default ``threads`` reads them."""

def _positive_ints(value):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, str):
        try:
            value = [int(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise BadValue("comma-separated positive ints such as 256,128,64") from None
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and operator.index(v) > 0 for v in value):
        raise BadValue("a positive int or a list of positive ints")
    return tuple(int(v) for v in value)


def _names(value):
    if isinstance(value, str):
        return value if "," not in value else tuple(part.strip() for part in value.split(","))
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise BadValue("a name or a list of names")


def _column_name(value):
    if not isinstance(value, str) or not value.strip():
        raise BadValue("a column name (the table's header names it)")
    return value.strip()


def _column_names(value):
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in parts):
        raise BadValue("column names, comma-separated such as Id,Other")
    return tuple(v.strip() for v in parts)


def _bool_or_auto(value):
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        return bool_check(value)
    except BadValue:
        raise BadValue("true, false or 'auto'") from None


def _string(value):
    if not isinstance(value, str) or not value.strip():
        raise BadValue("a string")
    return value


def _data_name(value):
    text = _string(value).strip()
    kind = data_kind(text)
    if kind is None:
        raise BadValue("one of " + ", ".join(known_names()))
    if kind.needs_argument and not text.partition(":")[2].strip():
        raise BadValue(f"{kind.usage}, naming the {'folder' if kind.argument == ':DIR' else 'file'}")
    return text


def _registered(get, registry, kind, allowed=(), per_layer=False):
    """A name that ``get`` resolves, kept as written (``per_layer``: one, or one per layer, comma-separated)."""

    def check(name):
        if name.strip().lower() in allowed:
            return name.strip().lower()
        try:
            get(name)
        except FnnInputError:
            known = ", ".join(list(allowed) + sorted(registry))
            raise BadValue(f"a known {kind} name, with arguments that fit (Known {kind}s: {known})") from None
        return name

    def convert(value):
        if per_layer:
            names = _names(value)
            return tuple(map(check, names)) if isinstance(names, tuple) else check(names)
        if isinstance(value, str) and "," in value and ":" not in value:  # leaky_relu:0.1 has arguments, not names
            raise BadValue(f"one {kind} name, not a list (Known {kind}s: {', '.join(list(allowed) + sorted(registry))})")
        return check(_string(value))

    return convert


@frozen
class Setting:
    """One run setting. ``convert(value)`` checks a value from TOML, Python, a sweep grid or the command line (a
    string there) and returns it in its one canonical form (``fnn.fit`` and the estimators check their keywords of
    the same meaning with the same check); ``optimizers`` and ``data_kinds`` list those it applies to (empty:
    all); a ``switch`` is a bool that the command line sets by its flag alone (``--diagnostics``)."""

    name: str
    convert: Callable[[Any], Any] = field(repr=False)
    default: Any
    help: str
    unit: str = ""
    optimizers: tuple[str, ...] = ()
    switch: bool = False
    data_kinds: tuple[str, ...] = ()
    group: str = "training"
    """The topic ``--help`` lists the setting under (data, network, optimiser, training, ...)."""
    sklearn: str = ""
    """The estimators' parameter for it (scikit-learn's ``MLPClassifier`` name where it has one), or ``""``."""

    def applies_to_data(self, data: str) -> bool:
        """Whether the setting applies to the data set ``data`` (``csv:PATH`` is of kind csv)."""
        kind = data_kind(data)
        return not self.data_kinds or (kind is not None and kind.name in self.data_kinds)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def applies_to(self, optimizer: str) -> bool:
        return not self.optimizers or optimizer in self.optimizers


_SGD_FAMILY = ("sgd", "momentum", "nesterov")

def _about(group, convert, help, unit="", optimizers=(), switch=False, data_kinds=(), sklearn=""):
    """A field's metadata: the rest of its :class:`Setting` (name, type and default are the field's own)."""
    return {"setting": {"convert": convert, "help": help, "unit": unit, "optimizers": optimizers, "switch": switch,
                        "data_kinds": data_kinds, "group": group, "sklearn": sklearn}}


@frozen
class RunConfig:
    """A run's resolved, checked settings (frozen; sequences are tuples), each field one :data:`SETTINGS` entry.
    Build it with :func:`resolve_config`; ``to_dict()`` gives the record's form.

    >>> config = resolve_config(({"data": "moons", "optimizer": "adam"}, PYTHON))
    >>> config.data, config.lr, "momentum" in config.to_dict()
    ('moons', 0.1, False)
    """

    data: str = field(default="digits", metadata=_about("data", _data_name, "data set: " + ", ".join(known_names())))
    label: str | None = field(default=None, metadata=_about("data", _optional(_column_name), "csv:PATH only: the label column's header name (if not given: the one column named label, labels, class, target, species or y, any case; none is an error)", data_kinds=("csv",)))
    drop: tuple[str, ...] = field(default=(), metadata=_about("data", _column_names, "csv:PATH only: columns left out, comma-separated header names, e.g. Id (a column that would leak the label)", data_kinds=("csv",)))
    test_fraction: float = field(default=0.2, metadata=_about("data", number_check(low=0, high=1, low_open=True, high_open=True), "part held out for testing when the data has no test part", unit="fraction"))
    task: str = field(default="auto", metadata=_about("data", choice_check(TASKS), "what the label is: auto (whole numbers are classes unless most of their values occur once, as prices do), classification, regression"))
    standardize: bool | str = field(default="auto", metadata=_about("data", _bool_or_auto, "standardise with training statistics: auto (features outside [0, 1], and a regression's targets for an identity output: it trains and validates on standardised targets, its model predicts and its test metrics are in the targets' units), true, false (fnn.fit trains on the data as given; standardise features and targets there with fnn.data.fit_standardizer)"))
    hidden: tuple[int, ...] = field(default=(64,), metadata=_about("network", _positive_ints, "hidden layer sizes, comma-separated, e.g. 256,128,64", sklearn="hidden_layer_sizes"))
    activation: str | tuple[str, ...] = field(default="relu", metadata=_about("network", _registered(get_activation, ACTIVATIONS, "activation", per_layer=True), "hidden activation, e.g. relu, tanh, sigmoid, leaky_relu:0.1, gelu (or one per layer, comma-separated)", sklearn="activation"))
    output: str = field(default="auto", metadata=_about("network", _registered(get_activation, ACTIVATIONS, "activation", ("auto",)), "output activation (auto, softmax, sigmoid, identity)", sklearn="output"))
    loss: str = field(default="auto", metadata=_about("network", _registered(get_loss, LOSSES, "loss", ("auto",)), "loss (auto: cross_entropy for classes, binary_cross_entropy for two with a sigmoid output, quadratic, half the squared error, for a regression; or cross_entropy, binary_cross_entropy, mse, quadratic)", sklearn="loss"))
    init: str = field(default="he_uniform", metadata=_about("network", _registered(get_initializer, INITIALIZERS, "initializer"), "weight initialiser, e.g. he_uniform, glorot_uniform, normal:0.1 (fnn.network uses glorot_uniform when given none; a run uses he_uniform, for its ReLU layers)", sklearn="init"))
    bias_init: str = field(default="zeros", metadata=_about("network", _registered(get_initializer, INITIALIZERS, "initializer"), "bias initialiser (zeros, normal, ...)", sklearn="bias_init"))
    optimizer: str = field(default="sgd", metadata=_about("optimiser", TRAINING_CHECKS["optimizer"], "optimiser: " + ", ".join(OPTIMIZERS), sklearn="optimizer"))
    lr: float = field(default=0.1, metadata=_about("optimiser", TRAINING_CHECKS["lr"], "learning rate (the schedule's peak; fnn.fit given another optimizer than sgd and no lr uses that optimiser's own)", unit="per step", sklearn="learning_rate_init"))
    momentum: float | None = field(default=None, metadata=_about("optimiser", TRAINING_CHECKS["momentum"], "momentum; if not given, the optimiser's own: 0 for sgd, 0.9 for momentum and nesterov", optimizers=_SGD_FAMILY, sklearn="momentum"))
    weight_decay: float = field(default=0.01, metadata=_about("optimiser", TRAINING_CHECKS["weight_decay"], "decoupled weight decay", unit="per step, times lr", optimizers=("adamw",), sklearn="weight_decay"))
    schedule: str = field(default="constant", metadata=_about("optimiser", TRAINING_CHECKS["schedule"], "learning-rate schedule NAME:ARGS, the arguments of fnn.optim's schedule after lr, durations in whole epochs: constant, step_decay:EVERY,FACTOR, exponential:RATE[,EVERY], cosine[:EPOCHS,FINAL_LR] (EPOCHS: the whole run if not given), linear_warmup:EPOCHS[+SCHEDULE]", unit="epochs", sklearn="learning_rate"))
    clip_norm: float = field(default=0.0, metadata=_about("optimiser", TRAINING_CHECKS["clip_norm"], "clip gradients to this global norm (0: off)", sklearn="clip_norm"))
    l2: float = field(default=0.0, metadata=_about("training", TRAINING_CHECKS["l2"], "L2 penalty on the weights (0: off)", sklearn="alpha"))
    epochs: int = field(default=20, metadata=_about("training", TRAINING_CHECKS["epochs"], "number of epochs in all (with --resume: the total to reach, not more; fnn.fit(state, epochs=k) trains k more)", unit="epochs", sklearn="max_iter"))
    batch_size: int = field(default=32, metadata=_about("training", TRAINING_CHECKS["batch_size"], "mini-batch size", unit="samples", sklearn="batch_size"))
    validation: float = field(default=0.1, metadata=_about("training", TRAINING_CHECKS["validation"], "part of the training part held out for validation, by class (0: none; a sweep needs it; fnn.fit holds out none unless given validation=)", unit="fraction", sklearn="validation_fraction"))
    drop_rate: float = field(default=0.0, metadata=_about("training", TRAINING_CHECKS["drop_rate"], "dropout probability on hidden layers (0: off)", unit="probability", sklearn="drop_rate"))
    patience: int = field(default=0, metadata=_about("early stopping", TRAINING_CHECKS["patience"], "early stopping: epochs without improvement of --monitor (0: off)", unit="epochs", sklearn="n_iter_no_change"))
    monitor: str = field(default="val_loss", metadata=_about("early stopping", TRAINING_CHECKS["monitor"], "metric early stopping watches, e.g. val_loss, val_accuracy or val_f1_macro (of --metrics); the direction is inferred", sklearn="monitor"))
    class_weight: str | None = field(default=None, metadata=_about("training", TRAINING_CHECKS["class_weight"], "weigh the loss by class: balanced (n / (classes * count of the class) over the training part) or class:weight pairs such as 0:1,1:5 (others 1)", sklearn="class_weight"))
    sample_weight: str | None = field(default=None, metadata=_about("data", _optional(_column_name), "csv:PATH only: the column of per-row sample weights (left out of the features); the loss is sum(w * loss) / sum(w) per batch", data_kinds=("csv",)))
    metrics: tuple[str, ...] = field(default=(), metadata=_about("output", TRAINING_CHECKS["metrics"], "metrics computed each epoch on the validation part (val_NAME), comma-separated: " + ", ".join(METRICS), sklearn="metrics"))
    train_metrics: bool = field(default=False, metadata=_about("output", TRAINING_CHECKS["train_metrics"], "also compute --metrics on the training part each epoch (one more forward pass)", switch=True, sklearn="train_metrics"))
    diagnostics: bool = field(default=False, metadata=_about("output", TRAINING_CHECKS["diagnostics"], "record per-layer diagnostics each epoch (gradient and weight norms, update ratio, dead and saturated units, learning rate) and warn about problems", switch=True, sklearn="diagnostics"))
    tensorboard: bool = field(default=False, metadata=_about("output", bool_check, "stream each epoch's metrics and diagnostics to TensorBoard, into the run folder's tensorboard/ (needs tensorboardx)", switch=True))
    keep_checkpoints: bool = field(default=False, metadata=_about("output", bool_check, "also keep each epoch's checkpoint as checkpoints/epoch-0001.npz, ... (for fnn replay)", switch=True))
    seed: int = field(default=0, metadata=_about("reproducibility", TRAINING_CHECKS["seed"], "seed every random draw derives from", sklearn="random_state"))
    dtype: str = field(default="float32", metadata=_about("reproducibility", TRAINING_CHECKS["dtype"], "float32 or float64 (fnn.fit trains in its start params' dtype unless given dtype=)", sklearn="dtype"))
    threads: int | None = field(default=None, metadata=_about("reproducibility", TRAINING_CHECKS["threads"], "BLAS threads of the run (if not given: $OPENBLAS_NUM_THREADS, $OMP_NUM_THREADS or $MKL_NUM_THREADS, the first set, else this machine's cores; the record's threads_from says which). The same seed and thread count give the same bytes; another count sums floats in another order, so the last bits differ", unit="threads", sklearn="threads"))

    def to_dict(self) -> dict[str, Any]:
        """The settings that apply to this run as a plain JSON-ready dict (lists, not tuples), for records and
        checkpoints; :func:`config_from_record` reads it back."""
        return {
            s.name: list(value) if isinstance(value := getattr(self, s.name), tuple) else value
            for s in SETTINGS
            if s.applies_to(self.optimizer) and s.applies_to_data(self.data)
        }

    def replace(self, **changes: Any) -> RunConfig:
        """A new configuration with ``changes`` (checked like any other Python values)."""
        return resolve_config((self.to_dict(), PYTHON), (changes, PYTHON))


SETTINGS = tuple(Setting(name=a.name, default=a.default, **{**a.metadata["setting"], "convert": from_numpy(a.metadata["setting"]["convert"])})
                 for a in fields(RunConfig))
"""Every run setting, in the order ``fnn train --help`` shows them."""

_BY_NAME = {s.name: s for s in SETTINGS}


def setting_name(key: str) -> str | None:
    """The setting a TOML key, grid key or flag name stands for (``-`` and ``_`` are the same), or None."""
    name = str(key).strip().lstrip("-").replace("-", "_")
    return name if name in _BY_NAME else None


@frozen
class Source:
    """Where values came from, for error messages: ``label(name)`` is how the user wrote that setting there."""

    kind: str
    path: str = ""

    def label(self, name: str) -> str:
        setting = _BY_NAME.get(name)
        if self.kind == "flag":
            return setting.flag if setting else "--" + name.replace("_", "-")
        if self.kind == "toml":
            return f"The key {name!r} in {self.path}"
        if self.kind == "record":
            return f"The key {name!r} of the run's saved configuration"
        if self.kind == "default":
            return f"The default {name!r}"
        if self.kind == "grid" and self.path:
            return f"{self.path} {name}" if self.path.startswith("--") else f"The grid key {name!r} in {self.path}"
        if self.kind == "argument":
            return f"The {name!r} argument of {self.path}"
        return f"The {self.kind} key {name!r}"


PYTHON, FLAG, GRID, RECORD, DEFAULT = Source("configuration"), Source("flag"), Source("grid"), Source("record"), Source("default")


def toml_source(path: str | os.PathLike[str]) -> Source:
    """The :class:`Source` of values read from the TOML file ``path`` (its messages name the file)."""
    return Source("toml", str(path))


DEFAULTS = RunConfig()
"""The configuration of a run given no settings at all (frozen, so no caller can change it for the next)."""


NOT_SETTINGS = {
    "out": "the folder a run or sweep writes into, not a run setting: fnn train and fnn sweep take --out DIR or "
           "out = \"DIR\" at the top level of their TOML file, Python sweep(..., out=DIR); fnn.run.run writes no folder",
    "seeds": "a sweep's list of seeds, not a run setting (a run has one seed): fnn sweep takes --seeds 0,1,2 or "
             "seeds = [0, 1, 2] in its TOML file (top level or [grid]), Python sweep(base, grid, seeds=[0, 1, 2])",
    "grid": "fnn sweep's table of values to sweep, not a run setting: fnn sweep --config FILE runs it, fnn train "
            "runs one configuration",
}
"""Names people give as settings that are something else: each is answered with what it is and where it goes."""


_TABLE_HINT = "It is a table; the settings are keys of their own, not grouped in tables (hidden = [6], not [network] hidden)."


def unknown_key(key: object, source: Source, table: bool = False) -> FnnInputError:
    """The error for a key that names no setting, worded for where it was given: what a name of
    :data:`NOT_SETTINGS` is, else the closest known name (the one suggestion of every door) and the keys cut short;
    a ``table`` (TOML's ``[network]``) is told that the settings are top-level keys.

    >>> print(unknown_key("learning_rate", toml_source("x.toml")))
    Unknown key 'learning_rate' in x.toml. Did you mean 'lr'? Known: ['data', 'label', 'drop', 'test_fraction', 'task', 'standardize', 'hidden', 'activation', ...] (27 more).
    """
    plain = str(key).strip().lstrip("-").replace("-", "_")
    if plain in NOT_SETTINGS:
        return FnnInputError(f"{source.label(plain)} is {NOT_SETTINGS[plain]}.")
    close = closest_name(str(key), [*_BY_NAME, *NOT_SETTINGS])
    hint = f" Did you mean {close!r}?" if close else ""
    if table:
        hint += " " + _TABLE_HINT
    where = f"key {key!r} in {source.path}" if source.kind == "toml" else f"{source.kind} key {key!r}"
    where += f" in {source.path}" if source.kind == "grid" and source.path else ""
    return FnnInputError(f"Unknown {where}.{hint} Known: {shown_names(list(_BY_NAME))}.")


def check_value(name: str, value: Any, source: Source) -> Any:
    """``value`` checked by the setting ``name`` and in its canonical form; the message names where it came from.

    >>> check_value("hidden", "32,16", FLAG), check_value("lr", "1e-3", Source("grid", "--grid"))
    ((32, 16), 0.001)
    """
    try:
        return _BY_NAME[name].convert(value)
    except BadValue as expected:
        raise FnnInputError(f"{source.label(name)} must be {expected}; got {value!r}.") from None


def resolve_config(*layers: tuple[Mapping[str, Any], Source]) -> RunConfig:
    """One checked :class:`RunConfig` from ``(values, source)`` layers, later layers overriding earlier ones.

    Every key must name a setting, every value fit it, and a setting given for an optimiser it does not apply to
    is refused; each message names the key or flag as the user wrote it (see :class:`Source`).

    >>> config = resolve_config(({"hidden": [8], "lr": 0.5}, PYTHON), ({"lr": "0.05", "batch-size": "16"}, FLAG))
    >>> config.hidden, config.lr, config.batch_size
    ((8,), 0.05, 16)
    """
    chosen, origin = {}, {}
    for values, source in layers:
        if not isinstance(values, Mapping):
            raise FnnInputError(f"A run configuration must be a dict (a TOML table); got {type(values).__name__}.")
        for key, value in values.items():
            name = setting_name(key)
            if name is None:
                raise unknown_key(key, source, table=isinstance(value, Mapping))
            try:
                chosen[name] = check_value(name, value, source)
            except FnnInputError as error:
                if isinstance(value, Mapping) and name != "class_weight":  # [optimizer] name = "adam"
                    raise FnnInputError(f"{error} {_TABLE_HINT}") from None
                raise
            origin[name] = source
    config = RunConfig(**chosen)
    for name, source in origin.items():
        setting = _BY_NAME[name]
        if not setting.applies_to(config.optimizer):
            raise FnnInputError(
                f"{source.label(name)} applies only to the optimizers {', '.join(setting.optimizers)}; "
                f"this run uses {config.optimizer!r}."
            )
        if not setting.applies_to_data(config.data):
            raise FnnInputError(
                f"{source.label(name)} applies only to {', '.join(k + ':PATH' for k in setting.data_kinds)} data "
                f"(it names the table's columns); this run's data is {config.data!r}."
            )
    why = unwatched(config.monitor, config.metrics, config.train_metrics, validated=bool(config.validation) or not config.patience)
    if why is not None:
        named = "monitor" if "monitor" in origin or "patience" not in origin else "patience"  # what the user gave
        subject = "" if named == "monitor" else ": early stopping's monitor"
        raise FnnInputError(f"{origin.get(named, DEFAULT).label(named)}{subject} {config.monitor!r} {why}.")
    try:  # the grammar and arguments, at one step per epoch (the run converts epochs to its real steps)
        get_schedule(config.schedule, "train", "schedule", lr=config.lr, total_units=config.epochs)
    except FnnInputError as error:
        label = origin.get("schedule", DEFAULT).label("schedule")
        raise FnnInputError(f"{label} is not a schedule this run can use: {error}") from None
    return config


def machine_threads() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def default_threads(environ: Mapping[str, str] | None = None) -> tuple[int, str]:
    """``(threads, where from)`` for a run given no ``threads``: the first of :data:`THREAD_VARIABLES` set to a
    positive int in ``environ`` (default: this process's), as every NumPy program reads them, else this machine's
    cores (``"cores"``).

    >>> default_threads({"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "3"})
    (2, 'OMP_NUM_THREADS')
    """
    environ = os.environ if environ is None else environ
    for name in THREAD_VARIABLES:
        text = environ.get(name, "").strip()
        if text.isdigit() and 0 < int(text) <= MAX_THREADS:
            return int(text), name
    return machine_threads(), "cores"


def config_from_record(record: dict[str, Any], epochs: int | None = None) -> RunConfig:
    """The :class:`RunConfig` of a saved run's configuration dict (``RunConfig.to_dict()``), checked like any
    other; ``epochs`` replaces its own."""
    if not isinstance(record, dict):
        raise FnnInputError(f"The run's saved configuration must be a dict; got {type(record).__name__}.")
    layers = [(record, RECORD)]
    if epochs is not None:
        layers.append(({"epochs": epochs}, FLAG))
    return resolve_config(*layers)
