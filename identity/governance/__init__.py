"""Governed tools (issue #22): the Cedar policies an AI Gateway enforces on the agent's calls, seen from the app.

`starter.py` (the starter policy set Provision writes: pure), `policies.py` (the policy set bound to the gateway,
read and changed through the official control-plane client), `decisions.py` (what the gateway decided).
"""
