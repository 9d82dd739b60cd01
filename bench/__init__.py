"""Benchmarks of the identity layer, localcloud and the app, against a fresh localcloud: `python -m bench`."""

__all__: list[str] = []
