"""A DashScope stand-in: the native Generation API answered by a deterministic local model.

`POST /api/v1/services/aigc/text-generation/generation` with `Authorization: Bearer <key>`, where the key is
the one localcloud generated for its data directory (`DASHSCOPE_API_KEY` in `LocalCloud.env()`); any other key
is 401 `InvalidApiKey`, a malformed body 400 `InvalidParameter`, both as `{"request_id", "code", "message"}`.
Any model name is accepted. `X-DashScope-SSE: enable` (or `Accept: text/event-stream`) streams SSE events,
otherwise one JSON object answers. The model (`model.py`) calls the offered tools a message asks for,
summarises tool results, and otherwise says what it can do; the same conversation gets the same answer.
"""

from localcloud.dashscope.model import Reply, ToolCall, respond
from localcloud.dashscope.routes import API_BASE_PATH, GENERATION_PATH, dashscope_key, dashscope_routes

__all__ = ["API_BASE_PATH", "GENERATION_PATH", "Reply", "ToolCall", "dashscope_key", "dashscope_routes", "respond"]
