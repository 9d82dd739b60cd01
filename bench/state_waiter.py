"""A second process for `bench.state`: waits for consents in the shared database, as a replica's chat turn does.

`python -m bench.state_waiter URL SECRET_KEY`: reads one consent state per stdin line, waits for it to settle
(woken by the change feed or its bounded re-read of the row) and prints `time.monotonic()` at the wake-up, which
on Linux is one clock for every process on the machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from identity.broker.consents import ConsentRegistry
from identity.store import ChangeFeed, open_database


def main(url: str, secret_key: str) -> int:
    database = open_database(url, Path(tempfile.gettempdir()), secret_key)
    feed = ChangeFeed(database)
    feed.start()
    registry = ConsentRegistry(database, feed)
    print("ready", flush=True)
    for line in sys.stdin:
        found = registry.wait(line.strip(), 30.0)
        print(f"{time.monotonic()} {found.status if found else 'gone'}", flush=True)
    feed.stop()
    database.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
