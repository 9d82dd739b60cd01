"""`python -m agent.service`: the agent service on AGENT_SERVICE_HOST:AGENT_SERVICE_PORT (127.0.0.1:8080).

Local mode uses the same localcloud as the dashboard (started with it, or the one `LOCALCLOUD_URL` names) and the
same database, so a consent started here completes at the dashboard's `/callback` and the turn here resumes.
"""

from __future__ import annotations

import os
import sys

from identity.errors import IdentityError
from identity.settings import load_settings

__all__ = ["main"]


def main() -> int:
    """Serve until interrupted; a bad setting is one line on stderr and exit status 2."""
    from identity.cloud import prepare_process_environment

    prepare_process_environment()  # before any Alibaba SDK is imported (proxies, metadata lookups)
    try:
        settings = load_settings(os.environ)
    except IdentityError as error:
        print(f"agent.service: {error}", file=sys.stderr)
        return 2
    import uvicorn

    from agent.runtime import build_agent_runtime
    from agent.service.app import create_app

    app = create_app(lambda: build_agent_runtime(os.environ))
    print(f"agent service on http://{settings.agent_service_host}:{settings.agent_service_port}  "
          "(POST /process, POST /openai/v1/chat/completions, GET /health)", flush=True)
    uvicorn.run(app, host=settings.agent_service_host, port=settings.agent_service_port, log_level="warning",
                timeout_graceful_shutdown=10, http="h11", loop="asyncio")  # the same server wherever it runs
    return 0


if __name__ == "__main__":
    sys.exit(main())
