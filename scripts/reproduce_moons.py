"""Two-moons classifiers from "Let's code a neural network in plain NumPy": the 2-4-6-6-4-1 network its text
lists and the larger 2-25-50-50-25-1 one its published code trains, both ReLU hidden layers, a sigmoid output and
binary cross-entropy.

As there: 1,000 points with noise 0.2, 10% held out for testing, weights and biases 0.1 * N(0, 1), full-batch
gradient descent with lr 0.01 for 10,000 epochs. The tutorial reports about 95% test accuracy (its Keras twin too).

The small network does not learn that way: from weights of 0.1 * N(0, 1), four narrow ReLU layers pass on almost
no signal, and lr 0.01 never gets it going (0.5 test accuracy at 10,000 and at 50,000 epochs). The third row trains
the same small network with He-uniform initialisation and Adam (lr 0.01, batches of 32, 200 epochs), which it can
learn with.
"""

import argparse

from _classic import Timer

import fnn

NETWORKS = {"text": [2, 4, 6, 6, 4, 1], "code": [2, 25, 50, 50, 25, 1]}


def train(sizes, data, epochs, seed):
    """Test accuracy and seconds of one network trained as the tutorial trains it."""
    train_part, test_part = data
    spec = fnn.network(sizes, activation="relu", loss="binary_cross_entropy", init="normal:0.1", bias_init="normal:0.1")
    with Timer() as timer:
        state = fnn.fit(fnn.init_params(spec, seed=seed), train_part, epochs=epochs, lr=0.01,
                        batch_size=len(train_part), seed=seed, shuffle=False)
    return fnn.accuracy(state.params, *test_part.as_tuple()), fnn.accuracy(state.params, *train_part.as_tuple()), timer.seconds


def train_adam(sizes, data, epochs, seed):
    """The same, with He-uniform initialisation and Adam on mini-batches of 32."""
    train_part, test_part = data
    spec = fnn.network(sizes, activation="relu", loss="binary_cross_entropy", init="he_uniform")
    with Timer() as timer:
        state = fnn.fit(fnn.init_params(spec, seed=seed), train_part, epochs=epochs, optimizer=fnn.optim.adam(0.01),
                        batch_size=32, seed=seed)
    return fnn.accuracy(state.params, *test_part.as_tuple()), fnn.accuracy(state.params, *train_part.as_tuple()), timer.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--networks", default="text,code,text-adam",
                        help="comma-separated: text (2-4-6-6-4-1), code (2-25-50-50-25-1), text-adam (the small one, He init, Adam)")
    parser.add_argument("--adam-epochs", type=int, default=200)
    args = parser.parse_args()
    data = fnn.data.stratified_split(fnn.data.moons(1000, noise=0.2, seed=args.seed), 0.1, seed=args.seed)
    rows = []
    for name in args.networks.split(","):
        if name == "text-adam":
            sizes, tutorial, what = NETWORKS["text"], "-", f"He init, Adam 0.01, batch 32, {args.adam_epochs} epochs"
            test_accuracy, train_accuracy, seconds = train_adam(sizes, data, args.adam_epochs, args.seed)
        else:
            sizes, tutorial, what = NETWORKS[name], "~0.95", f"as the tutorial, {args.epochs} epochs"
            test_accuracy, train_accuracy, seconds = train(sizes, data, args.epochs, args.seed)
        rows.append((f"{'-'.join(map(str, sizes))} ({name})", what, tutorial, f"{test_accuracy:.3f}",
                     f"train {train_accuracy:.3f}, {seconds:.0f} s"))
    print("\nmoons, ReLU hidden layers, sigmoid output, binary cross-entropy; test accuracy on 100 held-out points")
    header = ("network", "training", "tutorial", "fnn", "note")
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(5)]
    for row in [header] + rows:
        print("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))


if __name__ == "__main__":
    main()
