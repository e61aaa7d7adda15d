"""The Iris classifier: a [4, 6, 3] network, ReLU hidden layer and softmax output, from "Neural network with NumPy".

The tutorial draws weights from U(-1, 1), zero biases, and runs 25 full-batch gradient-descent steps with lr 0.01
on all 150 raw (unscaled) flowers, reporting accuracy only in a plot. Its setting is reproduced first; then the
same network with standardised features, a stratified 20% test split and more epochs, which is what it needs.
Twenty-five small steps from a random start leave the figure to the seed, so each row is the mean and standard
deviation over seeds (0-4 unless ``--seeds`` says otherwise), with the range beside it.
"""

import argparse

import numpy as np
from _classic import report

import fnn
from fnn.data import Dataset, fit_standardizer, standardize, stratified_split


def as_tutorial(iris, spec, seed):
    """Training accuracy after the tutorial's 25 full-batch steps (it has no test split)."""
    state = fnn.fit(fnn.init_params(spec, seed=seed), iris, epochs=25, lr=0.01, batch_size=len(iris), seed=seed)
    return fnn.accuracy(state.params, *iris.as_tuple())


def standardised(iris, spec, seed):
    """``(train, test)`` accuracy of the same net on standardised features, SGD for 200 epochs."""
    train, test = stratified_split(iris, 0.2, seed=seed)
    stats = fit_standardizer(train.features)
    train = Dataset(standardize(train.features, stats), train.labels, train.class_names)
    test = Dataset(standardize(test.features, stats), test.labels, test.class_names)
    state = fnn.fit(fnn.init_params(spec, seed=seed), train, epochs=200, lr=0.05, batch_size=16, seed=seed)
    return fnn.accuracy(state.params, *train.as_tuple()), fnn.accuracy(state.params, *test.as_tuple())


def spread(values):
    values = np.asarray(values)
    return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f} ({values.min():.3f}-{values.max():.3f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    iris = fnn.data.iris()
    spec = fnn.network([4, 6, 3], activation="relu", init="uniform")
    tutorial = [as_tutorial(iris, spec, seed) for seed in args.seeds]
    train, test = zip(*(standardised(iris, spec, seed) for seed in args.seeds))
    seeds = f"seeds {', '.join(map(str, args.seeds))}"
    report(
        f"Iris, [4, 6, 3] ReLU/softmax: mean ± sd (range) over {seeds}",
        [
            ("25 full-batch steps, lr 0.01, raw", "plot only (no number)", spread(tutorial), "training accuracy, as there"),
            ("standardised, SGD 200 epochs", "-", spread(train), "training accuracy"),
            ("standardised, SGD 200 epochs", "-", spread(test), "stratified 20% test split"),
        ],
    )


if __name__ == "__main__":
    main()
