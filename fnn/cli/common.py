"""What the commands share: reading a TOML experiment file, and the shape of a subcommand's parser."""

import argparse

from ..errors import FnnInputError

__all__ = ["load_toml", "add_command"]


def add_command(commands, name, help, epilog):
    """A subcommand whose description is its help sentence and whose epilog (examples) keeps its line breaks."""
    return commands.add_parser(
        name, help=help, description=help[0].upper() + help[1:] + ".", epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def load_toml(path):
    """The table of an experiment file; a missing file or bad TOML is a one-line error."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise FnnInputError(f"Experiment file {path!r} does not exist.") from None
    except tomllib.TOMLDecodeError as error:
        raise FnnInputError(f"Experiment file {path!r} is not valid TOML: {error}") from None
