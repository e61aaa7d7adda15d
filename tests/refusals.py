"""Calls of fnn's doors as ``call(fixture, path, capsys)`` that return the one-line refusal, or None when the call
was accepted: the shape the tests of files (test_files_*.py) try every writer and reader in."""

from fnn.cli import main
from fnn.errors import FnnInputError


def python_refusal(do):
    """``do(fixture, path)`` as a call: its FnnInputError's message, or None."""
    def call(fixture, path, capsys):
        try:
            do(fixture, path)
        except FnnInputError as error:
            return str(error)
        return None
    return call


def cli_refusal(argv):
    """The command line ``argv(fixture, path)`` as a call: its one line on stderr when it exits 2 (asserted to be
    one line and no traceback), or None when it exits 0."""
    def call(fixture, path, capsys):
        capsys.readouterr()
        code = main([str(a) for a in argv(fixture, path)])
        err = capsys.readouterr().err.strip()
        if code == 0:
            return None
        assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
        return err
    return call
