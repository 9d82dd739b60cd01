"""`python -m localcloud [serve|env] [--port N] [--data-dir DIR]`."""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from localcloud.server import LocalCloud, LocalCloudError, describe, serve_forever
from localcloud.settings import DEFAULT_PORT, LocalCloudSettings, LocalCloudSettingsError
from localcloud.store import open_store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m localcloud",
                                     description="Local emulator of the Alibaba Cloud services the dashboard uses.")
    parser.add_argument("command", nargs="?", choices=["serve", "env"], default="serve",
                        help="serve (default): run in the foreground; env: print exports that point clients at it")
    parser.add_argument("--port", type=int, default=None,
                        help=f"port on 127.0.0.1 (env LOCALCLOUD_PORT, default {DEFAULT_PORT}; 0 = any free port)")
    parser.add_argument("--data-dir", default=None,
                        help="state directory (env LOCALCLOUD_DATA_DIR, default .localcloud)")
    return parser


def _print_urls(cloud: LocalCloud) -> None:
    print(f"localcloud serving on {cloud.url}  (account {cloud.account_id}, data {cloud.data_dir})")
    print(f"  Tea RPC (Agent Identity control + data, IMS, RAM, STS)  POST {cloud.url}/")
    print(f"  health                                                  GET  {cloud.url}/_localcloud/health")
    print(f"Point clients at it:  eval \"$(python -m localcloud env --port {cloud.port})\"", flush=True)


def _print_env(settings: LocalCloudSettings) -> None:
    if settings.port == 0:
        raise LocalCloudSettingsError("env needs a fixed port: pass --port or set LOCALCLOUD_PORT to the port "
                                      "localcloud serves on.")
    store = open_store(settings.data_dir, time.time)
    try:
        cloud = describe(store, settings, settings.port)
    finally:
        store.close()
    for name, value in cloud.env().items():
        print(f"export {name}={shlex.quote(value)}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = LocalCloudSettings.resolve(args.port, args.data_dir)
        if args.command == "env":
            _print_env(settings)
        else:
            serve_forever(settings, _print_urls)
    except (LocalCloudSettingsError, LocalCloudError) as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
