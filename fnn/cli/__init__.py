"""The ``fnn`` command: the only package that prints. Everything it does is a library call.

One module per command group: :mod:`.train`, :mod:`.models` (evaluate, predict, plot, datasets), :mod:`.sweep`.
User mistakes are one line on stderr and exit code 2 (a mistyped flag with a suggestion); a diverged run exits
with 3; Ctrl-C exits with 130 and one line (for train and sweep: the command that continues). ``fnn`` alone prints
the overview of the commands.
"""

import argparse
import os
import sys
from collections.abc import Callable

from fnn.cli import export, models, proof, sweep, train
from fnn.cli.common import Interrupted, OneLineParser, unknown_flags
from fnn.errors import FnnInputError, TrainingDiverged
from fnn.version import __version__


def _parser() -> OneLineParser:
    parser = OneLineParser(
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


def _command_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    return commands.choices[name]


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
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


def main(argv: list[str] | None = None) -> int:
    """Run the ``fnn`` command with ``argv`` (default: the process's arguments); returns its exit code."""
    parser = _parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["help"]:  # `fnn help train` is `fnn train --help`, as git and pip have it
        argv = [*argv[1:2], "--help"]
    try:
        args, unknown = parser.parse_known_args(argv)
    except SystemExit as done:  # --help, --version, or a one-line usage error
        return int(done.code or 0)
    if unknown:
        command = f"fnn {args.command}" if args.command else "fnn"
        known = _command_parser(parser, args.command) if args.command else parser
        print(f"{command}: error: {unknown_flags(known, unknown)} (see '{command} --help')", file=sys.stderr)
        return 2
    if args.command is None:
        parser.print_help()
        return 0
    args.argv = argv  # as typed, for the command that continues an interrupted one
    try:
        return _COMMANDS[args.command](args)
    except (FnnInputError, ModuleNotFoundError) as error:  # a user mistake, or an optional extra not installed
        print(f"fnn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"fnn {args.command}: {error}", file=sys.stderr)
        return 3
    except BrokenPipeError:  # e.g. piped into `head`: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as error:  # a path the user gave that the command did not check itself
        if error.filename is None:
            raise
        print(f"fnn {args.command}: error: {error.filename}: {error.strerror or error}", file=sys.stderr)
        return 2
    except Interrupted as stopped:
        print(f"fnn {args.command}: interrupted; {stopped}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"fnn {args.command}: interrupted", file=sys.stderr)
        return 130
