"""The [784, 10, 10] and [784, 256, 128, 64, 10] ReLU/softmax networks trained by full-batch gradient descent,
from "Building a deep neural network from scratch using NumPy".

The tutorial reports about 88% (MNIST) for [784, 10, 10] after 1000 iterations and 97% for [784, 256, 128, 64, 10]
after 500, both training accuracy. Every iteration here is one gradient step on the whole training set at the
tutorial code's learning rate 0.1, as there; training and test accuracy are both printed, and the README compares
the training accuracy with the tutorial's. (At lr 0.5 the deep net diverges late on some BLAS kernels.)
"""

import numpy as np
from _classic import Timer, image_arguments, load_images, report

import fnn


def run(train, test, sizes, iterations, lr, seed):
    # Full batches: convert the images to floats once, rather than gathering all 60,000 rows every iteration.
    train = fnn.data.Dataset(np.asarray(train.features), train.labels, train.class_names, train.name)
    spec = fnn.network(sizes, activation="relu", init="he_uniform")
    params = fnn.init_params(spec, seed=seed)
    with Timer() as timer:
        state = fnn.fit(params, train, epochs=iterations, lr=lr, batch_size=len(train), seed=seed, shuffle=False)
    return fnn.accuracy(state.params, *train.as_tuple()), fnn.accuracy(state.params, *test.as_tuple()), timer.seconds


def main():
    parser = image_arguments(__doc__.splitlines()[0])
    parser.add_argument("--small-iterations", type=int, default=1000)
    parser.add_argument("--deep-iterations", type=int, default=500)
    parser.add_argument("--small-lr", type=float, default=0.1)
    parser.add_argument("--deep-lr", type=float, default=0.1)
    args = parser.parse_args()
    train, test, name = load_images(args.mnist)
    small_train, small, small_s = run(train, test, [784, 10, 10], args.small_iterations, args.small_lr, args.seed)
    deep_train, deep, deep_s = run(train, test, [784, 256, 128, 64, 10], args.deep_iterations, args.deep_lr, args.seed)
    report(
        f"ReLU/softmax nets, full-batch gradient descent (lr {args.small_lr} and {args.deep_lr}), on {name}",
        [
            (f"[784, 10, 10], {args.small_iterations} iterations", "~0.88 train (MNIST)", f"{small_train:.3f} train, {small:.3f} test", f"{small_s:.0f} s"),
            (f"[784, 256, 128, 64, 10], {args.deep_iterations} it.", "0.97 train (MNIST)", f"{deep_train:.3f} train, {deep:.3f} test", f"{deep_s:.0f} s"),
        ],
    )
    if name != "MNIST":
        print("  Fashion-MNIST is harder than MNIST; pass --mnist DIR to compare on the tutorial's data")


if __name__ == "__main__":
    main()
