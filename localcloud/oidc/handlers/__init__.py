"""One module per endpoint; each handler takes `(realm, request, body)` and runs in a worker thread."""

__all__: list[str] = []
