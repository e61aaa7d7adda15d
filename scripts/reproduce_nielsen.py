"""Nielsen-style [784, 30, 10] sigmoid network with the quadratic cost, trained by mini-batch SGD.

As in "Neural Networks and Deep Learning" (network.py): weights and biases drawn from N(0, 1), 30 epochs of
mini-batches of 10 with eta = 3.0, the cost C = 1/(2n) sum ||y - a||^2. The from-scratch tutorial that follows it
states no accuracy; Nielsen's book reports about 95% on MNIST for this setting.
"""

from _classic import Timer, image_arguments, load_images, report

import fnn


def main():
    parser = image_arguments(__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--eta", type=float, default=3.0)
    parser.add_argument("--batch-size", type=int, default=10)
    args = parser.parse_args()
    train, test, name = load_images(args.mnist)
    spec = fnn.network([784, 30, 10], activation="sigmoid", loss="quadratic", init="normal", bias_init="normal")
    params = fnn.init_params(spec, seed=args.seed)
    best = 0.0
    with Timer() as timer:
        for state in fnn.iterate_epochs(params, train, lr=args.eta, batch_size=args.batch_size, seed=args.seed, validation=test):
            record = state.history[-1]
            best = max(best, record.val_accuracy)
            print(f"epoch {record.epoch}: {int(round(record.val_accuracy * len(test)))} / {len(test)}")
            if record.epoch == args.epochs:
                break
    report(
        f"[784, 30, 10] sigmoid, quadratic cost, SGD (eta {args.eta}, batch {args.batch_size}) on {name}",
        [
            ("test accuracy, last epoch", "not stated (book: ~0.95 on MNIST)", f"{record.val_accuracy:.3f}", f"{timer.seconds:.0f} s"),
            ("best epoch", "", f"{best:.3f}", ""),
        ],
    )


if __name__ == "__main__":
    main()
