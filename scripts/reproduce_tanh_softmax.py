"""The 784-10 tanh/softmax network with Glorot-uniform weights, from the "neural networks with NumPy instead of
TensorFlow" tutorial.

The tutorial builds it and runs one forward pass on random pixels; it never trains it. Its input layer applies tanh
to the pixels plus a bias drawn from [0, 0] (so tanh(x) exactly), and its output adds the bias to the weights
before the product, x @ (W + b), which only works because b is zero there. Here the intent is reproduced: tanh of
the pixels, then a dense softmax layer computing x @ W + b, Glorot-uniform weights in +-sqrt(6 / (784 + 10)); and
then it is trained, with mini-batch SGD, which the tutorial left for later.
"""

import numpy as np
from _classic import Timer, image_arguments, load_images, report

import fnn


def main():
    parser = image_arguments(__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    train, test, name = load_images(args.mnist)
    # The tutorial's first layer: tanh of the inputs (its bias range is [0, 0]).
    x_train, x_test = np.tanh(np.asarray(train.features)), np.tanh(np.asarray(test.features))
    spec = fnn.network([784, 10], activation="softmax", init="glorot_uniform")
    params = fnn.init_params(spec, seed=args.seed)
    untrained = fnn.accuracy(params, x_test, test.labels)
    with Timer() as timer:
        state = fnn.fit(params, (x_train, train.labels), epochs=args.epochs, lr=0.1, batch_size=64, seed=args.seed)
    trained = fnn.accuracy(state.params, x_test, test.labels)
    report(
        f"784-10 tanh/softmax, Glorot uniform, on {name}",
        [
            ("untrained test accuracy", "not measured (one forward pass)", f"{untrained:.3f}", "chance is 0.10"),
            (f"after {args.epochs} epochs SGD", "never trained", f"{trained:.3f}", f"lr 0.1, batch 64, {timer.seconds:.0f} s"),
        ],
    )
    print("  difference: bias added after the product (x @ W + b), not to the weights; the net is trained")


if __name__ == "__main__":
    main()
