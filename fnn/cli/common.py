"""What the commands share: reading a TOML experiment file, and the shape of a subcommand's parser."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

from fnn.errors import FnnInputError

Commands = argparse._SubParsersAction
"""What ``add_subparsers`` returns: each command module adds its parsers to it."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line on stderr and exit code 2, like every other user error
    (argparse's own print the usage first)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(2)


def add_command(commands: Commands, name: str, help: str, epilog: str) -> argparse.ArgumentParser:
    """A subcommand whose description is its help sentence and whose epilog (examples) keeps its line breaks."""
    return commands.add_parser(
        name, help=help, description=help[0].upper() + help[1:] + ".", epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def load_toml(path: str | os.PathLike[str], flag: str = "--config") -> dict[str, Any]:
    """The table of an experiment file; a missing or unreadable file, a folder, text that is not UTF-8 or not
    TOML is a one-line error naming ``flag`` and the file."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise FnnInputError(f"{flag} {path}: the experiment file does not exist.") from None
    except IsADirectoryError:
        raise FnnInputError(f"{flag} {path}: is a folder; expected a TOML experiment file.") from None
    except OSError as error:
        raise FnnInputError(f"{flag} {path}: cannot be read ({error.strerror or error}).") from None
    except UnicodeDecodeError as error:
        raise FnnInputError(f"{flag} {path}: is not UTF-8 text, as TOML must be (byte {error.start}).") from None
    except tomllib.TOMLDecodeError as error:
        raise FnnInputError(f"{flag} {path}: is not valid TOML: {error}") from None
