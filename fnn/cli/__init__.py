"""The ``fnn`` command: the only package that prints. Everything it does is a library call.

One module per command group: :mod:`.train`, :mod:`.models` (evaluate, predict, plot, datasets), :mod:`.sweep`.
User mistakes are one line on stderr and exit code 2; a diverged run exits with 3.
"""

import argparse
import os
import sys

from .. import __version__
from ..errors import FnnInputError, TrainingDiverged
from . import export, models, proof, sweep, train

__all__ = ["main"]


def _parser():
    parser = argparse.ArgumentParser(
        prog="fnn",
        description="Functional neural networks in pure NumPy: train, evaluate and inspect multilayer perceptrons.",
        epilog="Run 'fnn COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"fnn {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    train.add_arguments(commands)
    models.add_arguments(commands)
    sweep.add_arguments(commands)
    export.add_arguments(commands)
    proof.add_arguments(commands)
    return parser


COMMANDS = {
    "train": train.run,
    "evaluate": models.evaluate_command,
    "predict": models.predict_command,
    "sweep": sweep.run,
    "datasets": models.datasets_command,
    "plot": models.plot_command,
    "export": export.run,
    "verify": proof.verify_command,
    "diff": proof.diff_command,
    "replay": proof.replay_command,
}


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except (FnnInputError, ModuleNotFoundError) as error:  # a user mistake, or an optional extra not installed
        print(f"fnn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"fnn {args.command}: {error}", file=sys.stderr)
        return 3
    except FileNotFoundError as error:
        print(f"fnn {args.command}: error: {error.filename}: no such file", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into `head`: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt:
        print(f"fnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
