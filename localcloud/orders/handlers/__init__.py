"""One module per endpoint of the order service: metadata, authorize, login, token, and the orders API."""
