"""Successive halving against the full grid it replaces: the share of epochs it trains and how often it picks
the full grid's best configuration.

A 27-configuration grid (learning rate x hidden layers x batch size, 27 epochs each) on the bundled data sets
digits and iris and the generated spirals, one seed per trial and three seeds per data set. The full grid is a
sequential sweep ranked on validation; halving starts every configuration with ``--min-epochs`` epochs and keeps
the best third on each rung. The chosen configuration's params hash is checked against the full sweep's run of
that configuration (a survivor continues its own run, so the bytes are the same).

    python scripts/bench_halving.py [--min-epochs 3] [--factor 3] [--epochs 27]
"""

import argparse
import time

from fnn.run import Halving
from fnn.run.sweep import sweep

GRID = {"lr": [0.3, 0.1, 0.03], "hidden": [[16], [64], [64, 32]], "batch_size": [16, 32, 64]}
DATA = ("digits", "iris", "spirals")
SEEDS = (0, 1, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-epochs", type=int, default=3)
    parser.add_argument("--factor", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=27)
    parser.add_argument("--data", default=",".join(DATA))
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    args = parser.parse_args()
    print(f"grid of {len(GRID['lr']) * len(GRID['hidden']) * len(GRID['batch_size'])} configurations, {args.epochs} epochs, "
          f"rungs from {args.min_epochs} epochs, factor {args.factor}")
    print(f"{'data':<8} {'seed':>4} {'epochs used':>12} {'share':>6} {'rank of pick':>12} {'pick val':>9} {'best val':>9} "
          f"{'hash':>5} {'halving s':>9} {'grid s':>7}")
    picked_best, picked_tie, shares, trials = 0, 0, [], 0
    for data in args.data.split(","):
        for seed in map(int, args.seeds.split(",")):
            base = {"data": data, "epochs": args.epochs}
            started = time.process_time()
            halved = sweep(base, GRID, [seed], engine="sequential", halving=Halving(args.min_epochs, args.factor))
            halving_seconds = time.process_time() - started
            started = time.process_time()
            full = sweep(base, GRID, [seed], engine="sequential")
            grid_seconds = time.process_time() - started
            keys = [row["config"] for row in full.summary]
            rank = keys.index(halved.chosen) + 1
            metric = halved.ranked_on
            same_run = [r for r in full.records if {k: r["config"][k] for k in halved.chosen} == halved.chosen]
            identical = same_run[0]["params_sha256"] == halved.records[0]["params_sha256"]
            share = halved.epochs_trained / halved.epochs_full_grid
            shares.append(share)
            picked_best += rank == 1
            picked_tie += full.summary[rank - 1][metric + "_mean"] == full.summary[0][metric + "_mean"]
            trials += 1
            print(f"{data:<8} {seed:>4} {halved.epochs_trained:>5}/{halved.epochs_full_grid:<6} {share:6.1%} {rank:>12} "
                  f"{full.summary[rank - 1][metric + '_mean']:9.4f} {full.summary[0][metric + '_mean']:9.4f} "
                  f"{'same' if identical else 'DIFF':>5} {halving_seconds:9.1f} {grid_seconds:7.1f}")
    print(f"picked the full grid's best in {picked_best} of {trials} trials (one scoring as well as the best, ties on "
          f"validation included: {picked_tie} of {trials}); epochs used: {min(shares):.1%} to {max(shares):.1%} "
          f"of the full grid's")


if __name__ == "__main__":
    main()
