"""The Iris classifier: a [4, 6, 3] network, ReLU hidden layer and softmax output, from "Neural network with NumPy".

The tutorial draws weights from U(-1, 1), zero biases, and runs 25 full-batch gradient-descent steps with lr 0.01
on all 150 raw (unscaled) flowers, reporting accuracy only in a plot. Its setting is reproduced first; then the
same network with standardised features, a stratified 20% test split and more epochs, which is what it needs.
"""

import argparse

from _classic import report

import fnn
from fnn.data import Dataset, fit_standardizer, standardize, stratified_split


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    iris = fnn.data.iris()
    spec = fnn.network([4, 6, 3], activation="relu", init="uniform")
    as_tutorial = fnn.fit(fnn.init_params(spec, seed=args.seed), iris, epochs=25, lr=0.01, batch_size=len(iris), seed=args.seed)
    tutorial_accuracy = fnn.accuracy(as_tutorial.params, *iris.as_tuple())

    train, test = stratified_split(iris, 0.2, seed=args.seed)
    stats = fit_standardizer(train.features)
    train = Dataset(standardize(train.features, stats), train.labels, train.class_names)
    test = Dataset(standardize(test.features, stats), test.labels, test.class_names)
    better = fnn.fit(fnn.init_params(spec, seed=args.seed), train, epochs=200, lr=0.05, batch_size=16, seed=args.seed)
    report(
        "Iris, [4, 6, 3] ReLU/softmax",
        [
            ("25 full-batch steps, lr 0.01, raw", "plot only (no number)", f"{tutorial_accuracy:.3f}", "training accuracy, as there"),
            ("standardised, SGD 200 epochs", "-", f"{fnn.accuracy(better.params, *test.as_tuple()):.3f}", "stratified 20% test split"),
        ],
    )


if __name__ == "__main__":
    main()
