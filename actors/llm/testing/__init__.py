"""Testing helpers that ship with Leadwright: a fake OpenAI-compatible server.

Point ``OpenAiLlm(base_url=server.url, ...)`` at a ``FakeOpenAI`` and script its replies
to test your own code against real HTTP, without a key or a network.
"""

from actors.llm.testing._offline_model import MISSCORE_SHIFT, Behaviour, OfflineModel, stage_of
from actors.llm.testing._responses import (
    Completion,
    ErrorReply,
    RawReply,
    Response,
    auth_failed,
    completion,
    cut_short,
    model_not_found,
    not_json,
    quota_exhausted,
    rate_limited,
    refusal,
    response_format_refused,
    server_error,
    slow,
    truncated,
)
from actors.llm.testing._server import FakeOpenAI, RecordedRequest, Script

__all__ = [
    "MISSCORE_SHIFT",
    "Behaviour",
    "Completion",
    "ErrorReply",
    "FakeOpenAI",
    "OfflineModel",
    "RawReply",
    "RecordedRequest",
    "Response",
    "Script",
    "auth_failed",
    "completion",
    "cut_short",
    "model_not_found",
    "not_json",
    "quota_exhausted",
    "rate_limited",
    "refusal",
    "response_format_refused",
    "server_error",
    "slow",
    "stage_of",
    "truncated",
]
