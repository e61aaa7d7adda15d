"""Balanced class weights on a 95/5 class-imbalanced data set: test balanced accuracy with and without them.

The data: two moons (noise 0.3), class 1 subsampled so that it is 5% of the rows; a stratified 30% test part. The
network 2-16-16-1 (tanh, sigmoid output, binary cross-entropy) is trained with Adam (lr 0.01, batches of 32) for
the same epochs, once unweighted and once with ``class_weight="balanced"`` (each class weighs n / (2 * its count)),
from the same seed; each row is the mean and standard deviation over the seeds. Without weights the minority class
costs too little to learn; balanced accuracy (the mean of the two recalls) shows it where plain accuracy hides it.
"""

import argparse

import numpy as np

import fnn

N_MAJORITY, MINORITY_SHARE = 1000, 0.05


def imbalanced_moons(n_majority, minority_share, seed):
    """Two moons with class 1 subsampled to ``minority_share`` of the rows, in a seeded order."""
    data = fnn.data.moons(2 * n_majority, noise=0.3, seed=seed)
    x, y = data.as_tuple()
    rng = np.random.default_rng(seed)
    n_minority = round(n_majority * minority_share / (1 - minority_share))
    keep = np.concatenate([np.flatnonzero(y == 0), rng.choice(np.flatnonzero(y == 1), n_minority, replace=False)])
    keep = np.sort(keep)
    return fnn.data.Dataset(x[keep], y[keep], data.class_names, "imbalanced-moons")


def scores(seed, epochs, class_weight):
    """Test balanced accuracy, accuracy and minority recall of one training run."""
    data = imbalanced_moons(N_MAJORITY, MINORITY_SHARE, seed)
    train, test = fnn.data.stratified_split(data, 0.3, seed=seed)
    spec = fnn.network([2, 16, 16, 1], activation="tanh", loss="binary_cross_entropy")
    state = fnn.fit(fnn.init_params(spec, seed=seed), train, epochs=epochs, optimizer="adam", lr=0.01, batch_size=32,
                    seed=seed, class_weight=class_weight)
    result = fnn.evaluate(state.params, *test.as_tuple(), metrics=["balanced_accuracy"])
    predicted = fnn.predict_classes(state.params, test.features)
    minority_recall = float(np.mean(predicted[test.labels == 1] == 1))
    return result["balanced_accuracy"], result["accuracy"], minority_recall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1, each its own subsample, split and init")
    args = parser.parse_args()
    rows = []
    for label, class_weight in (("no weights", None), ("class_weight=balanced", "balanced")):
        runs = np.array([scores(seed, args.epochs, class_weight) for seed in range(args.seeds)])
        mean, std = runs.mean(axis=0), runs.std(axis=0, ddof=1) if args.seeds > 1 else np.zeros(3)
        rows.append((label, *(f"{m:.3f} +- {s:.3f}" for m, s in zip(mean, std))))
    header = ("training", "balanced accuracy", "accuracy", "minority recall")
    minority = round(N_MAJORITY * MINORITY_SHARE / (1 - MINORITY_SHARE))
    print(f"imbalanced moons: {N_MAJORITY} of class 0, {minority} of class 1 ({MINORITY_SHARE:.0%}); 30% test; "
          f"{args.epochs} epochs; seeds 0..{args.seeds - 1}")
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


if __name__ == "__main__":
    main()
