"""Testing helpers that ship with Leadwright: a fake OpenAI-compatible server.

Point ``OpenAiLlm(base_url=server.url, ...)`` at a ``FakeOpenAI`` and script its replies
to test your own code against real HTTP, without a key or a network.
"""

from actors.llm.testing._server import (
    Completion,
    ErrorReply,
    FakeOpenAI,
    RawReply,
    RecordedRequest,
    Response,
    Script,
    auth_failed,
    completion,
    cut_short,
    not_json,
    quota_exhausted,
    rate_limited,
    refusal,
    server_error,
    slow,
    truncated,
)

__all__ = [
    "Completion",
    "ErrorReply",
    "FakeOpenAI",
    "RawReply",
    "RecordedRequest",
    "Response",
    "Script",
    "auth_failed",
    "completion",
    "cut_short",
    "not_json",
    "quota_exhausted",
    "rate_limited",
    "refusal",
    "server_error",
    "slow",
    "truncated",
]
