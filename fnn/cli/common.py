"""What the commands share: the shape of a subcommand's parser, the run settings' flags (made from the table of
settings, grouped by topic), suggestions for mistyped flags, reading a TOML experiment file, and how an interrupted
command says how to continue."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

from fnn.errors import FnnInputError, closest_name
from fnn.run.settings import SETTINGS, Setting

GROUPS = ("data", "network", "optimiser", "training", "early stopping", "output", "reproducibility")
"""The topics of the run settings' flags, in the order ``--help`` shows them."""

Commands = argparse._SubParsersAction
"""What ``add_subparsers`` returns: each command module adds its parsers to it."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line on stderr and exit code 2, like every other user error
    (argparse's own print the usage first). A flag is matched only as written: no abbreviations."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(2)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> tuple[Any, list[str]]:
        """argparse's, but a word left over right after a flag that takes no value (``--resume DIR`` where
        ``--resume`` is a switch) is that flag's one-line error, saying what the flag is, not an unknown argument."""
        parsed, unknown = super().parse_known_args(args, namespace)
        words = list(sys.argv[1:] if args is None else args)
        switches = {option: action for action in self._actions if action.nargs == 0 for option in action.option_strings}
        for before, word in zip(words, words[1:]):
            if before in switches and word in unknown and not word.startswith("-"):
                self.error(f"{before} takes no value ({switches[before].help}); got {word!r}")
        return parsed, unknown


def add_command(commands: Commands, name: str, help: str, epilog: str) -> argparse.ArgumentParser:
    """A subcommand whose description is its help sentence and whose epilog (examples) keeps its line breaks."""
    return commands.add_parser(
        name, help=help, description=help[0].upper() + help[1:] + ".", epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with the one line that says what was kept and how to continue (``fnn train --resume DIR``)."""


def _shown(setting: Setting) -> str:
    default = setting.default
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    notes = [f"default: {shown}"] if shown not in (None, "") else []
    notes += [f"unit: {setting.unit}"] if setting.unit else []
    notes += [f"only with --optimizer {'/'.join(setting.optimizers)}"] if setting.optimizers else []
    return f"{setting.help} ({'; '.join(notes)})" if notes else setting.help


def add_setting_flags(parser: argparse.ArgumentParser, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """A flag for every run setting (but ``leave_out``), in argument groups by topic; returns the groups by name,
    for the command's own flags."""
    groups = {name: parser.add_argument_group(name) for name in GROUPS}
    for setting in SETTINGS:
        if setting.name in leave_out:
            continue
        group = groups[setting.group]
        if setting.switch:
            group.add_argument(setting.flag, dest=setting.name, action="store_const", const=True, default=None, help=_shown(setting))
        else:
            group.add_argument(setting.flag, dest=setting.name, default=None, metavar=setting.name.upper(), help=_shown(setting))
    return groups


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The run settings given as flags, by setting name (as typed: the table checks them)."""
    return {s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name, None) is not None}


def unknown_flags(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    """The one-line message for arguments ``parser`` does not know, suggesting the closest flag to each.

    >>> print(unknown_flags(OneLineParser(prog="fnn x", add_help=False), ["--verbose"]))
    unrecognized arguments: --verbose
    """
    known = [option for action in parser._actions for option in action.option_strings]
    hints = []
    for word in unknown:
        flag = word.partition("=")[0]
        if not flag.startswith("--"):
            continue
        close = closest_name(flag, known)
        hints += [f"{flag}: did you mean {close}?"] if close else []
    return f"unrecognized arguments: {' '.join(unknown)}" + (f" ({'; '.join(hints)})" if hints else "")


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
