"""The agent as a service of its own (`python -m agent.service`): the sample's `POST /process` (AgentScope
runtime's agent API, streamed as server-sent events), `POST /openai/v1/chat/completions` and `GET /health`.

Every caller is a verified signed-in user (their ID token); the turn is the same `agent.loop.run_turn` the
dashboard runs in-process, with the same broker, database and consents. `agentscope` and `openai_api` turn the
loop's events into each API's wire objects (pure functions); `callers` verifies who calls; `turns` runs a turn on a
worker thread for an async response; `app` is the HTTP layer.
"""
