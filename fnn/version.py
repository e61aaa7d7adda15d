"""The package's version, in a module of its own so that nothing below the face imports the face for it."""

__version__ = "0.1.0"
