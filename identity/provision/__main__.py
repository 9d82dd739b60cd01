"""`python -m identity.provision plan|apply|destroy`: the sample's `prepare` / `clear`, from a shell.

Run it from the directory that holds `.config.json`. In local mode it starts the local cloud itself when
none is running (state in `.localcloud/`, as the app does).
"""

from __future__ import annotations

import argparse
import sys

from identity.cloud import prepare_process_environment

prepare_process_environment()

from identity import provision  # noqa: E402
from identity.clients import Clients  # noqa: E402
from identity.cloud import connect  # noqa: E402
from identity.errors import IdentityError, ProvisioningError  # noqa: E402
from identity.settings import load_settings  # noqa: E402

_MARKS = {"create": "+", "keep": "=", "drift": "~", "needs input": "?", "created": "+", "kept": "=",
          "updated": "~", "skipped": "?", "deleted": "-", "absent": " ", "failed": "!"}


def _print(report: provision.StepReport) -> None:
    if report.status == "running":
        return
    detail = f"  ({report.detail})" if report.detail else ""
    print(f" {_MARKS.get(report.status, ' ')} {report.status:<11} {report.title}: {report.resource}{detail}",
          flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m identity.provision",
                                     description="Provision or clear the Agent Identity sample's cloud resources.")
    parser.add_argument("command", choices=["plan", "apply", "destroy"])
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        clients = Clients(connect(settings))
        print(clients.target.banner())
        if args.command == "plan":
            for report in provision.plan(clients, settings):
                _print(report)
        elif args.command == "apply":
            provision.apply(clients, settings, on_step=_print)
            print(f"Done. Resources are recorded in {settings.config_json}.")
        else:
            provision.destroy(clients, settings, on_step=_print)
            print("Done. Everything Provision created is gone.")
    except ProvisioningError as error:
        print(f"Failed: {error}. Fix the cause and run `{args.command}` again: it resumes.", file=sys.stderr)
        return 1
    except IdentityError as error:
        print(f"Failed: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
