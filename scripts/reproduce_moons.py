"""The two-moons classifier [2, 25, 50, 50, 25, 1], ReLU hidden layers, sigmoid output, binary cross-entropy, from
"Let's code a neural network in plain NumPy".

As there: 1,000 points with noise 0.2, 10% held out for testing, weights and biases 0.1 * N(0, 1), full-batch
gradient descent with lr 0.01 for 10,000 epochs. The tutorial reports about 95% test accuracy (its Keras twin too).
"""

import argparse

from _classic import Timer, report

import fnn


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train, test = fnn.data.stratified_split(fnn.data.moons(1000, noise=0.2, seed=args.seed), 0.1, seed=args.seed)
    spec = fnn.network([2, 25, 50, 50, 25, 1], activation="relu", init="normal:0.1", bias_init="normal:0.1")
    with Timer() as timer:
        state = fnn.fit(fnn.init_params(spec, seed=args.seed), train, epochs=args.epochs, lr=0.01, batch_size=len(train), seed=args.seed, shuffle=False)
    report(
        "moons, [2, 25, 50, 50, 25, 1] ReLU/sigmoid, full-batch GD",
        [(f"test accuracy after {args.epochs} epochs", "~0.95", f"{fnn.accuracy(state.params, *test.as_tuple()):.3f}", f"{timer.seconds:.0f} s")],
    )


if __name__ == "__main__":
    main()
