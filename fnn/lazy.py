"""Names of a package that load their module on first use (PEP 562), so that importing the package stays light.

>>> namespace = {}
>>> get, names = lazy_loader("pkg", {"dumps": ("json", "dumps"), "decoder": ("json.decoder", None)}, namespace)
>>> get("dumps")([1, 2]), get("decoder").__name__, "dumps" in namespace
('[1, 2]', 'json.decoder', True)
"""

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_loader(
    package: str,
    names: Mapping[str, tuple[str, str | None]],
    namespace: dict[str, Any],
    optional: Mapping[str, tuple[str, str]] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``(__getattr__, __dir__)``: ``names`` maps a name to ``(module, attribute)``, or to
    ``(module, None)`` for the module itself; a loaded value is kept in ``namespace`` (the package's globals), so
    each loads once. ``optional`` maps a missing top-level module to ``(what it is, the extra that installs it)``,
    for the error a user without it sees.

    >>> get, _ = lazy_loader("pkg", {"x": ("no_such_module_here", "x")}, {}, {"no_such_module_here": ("Thing", "pkg[thing]")})
    >>> get("x")
    Traceback (most recent call last):
    ModuleNotFoundError: pkg.x needs Thing: pip install 'pkg[thing]'.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, attribute = names[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            missing = (error.name or "").split(".")[0]
            if optional is None or missing not in optional:
                raise
            what, extra = optional[missing]
            raise ModuleNotFoundError(f"{package}.{name} needs {what}: pip install '{extra}'.") from None
        value = module if attribute is None else getattr(module, attribute)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
