"""Packages that import their parts on first use (PEP 562), so importing one light part never loads the rest.

`streamlit run app.py` imports the sign-in and consent routes before the server answers its health check; a
package `__init__` that imported every submodule would load SQLAlchemy and the Alibaba Cloud SDKs there too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` for `package`: `exports` maps each public name to its submodule (relative name)."""

    def __getattr__(name: str) -> object:
        submodule = exports.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{submodule}"), name)

    return __getattr__
