"""What the reproduction scripts share: where MNIST-format images come from, and how a result is reported."""

import argparse
import time

import fnn


def image_arguments(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--mnist", metavar="DIR", help="a folder with the original MNIST files (default: Fashion-MNIST)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def load_images(folder):
    """``(train, test, name)``: MNIST from ``folder`` if given, otherwise Fashion-MNIST (MNIST cannot be fetched
    here; Fashion-MNIST has the same format and size and is harder)."""
    train, test = fnn.data.load_mnist(folder, fashion=None if folder else True)
    return train, test, ("MNIST" if folder else "Fashion-MNIST")


def report(title, rows):
    """Print our figures beside the tutorial's: rows of (what, tutorial, ours, note)."""
    print(f"\n{title}")
    widths = [max(len(str(row[i])) for row in rows + [("what", "tutorial", "fnn", "note")]) for i in range(4)]
    for row in [("what", "tutorial", "fnn", "note")] + rows:
        print("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
