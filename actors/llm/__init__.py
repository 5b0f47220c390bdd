"""LLM backends behind one gateway: the offline engine, fault injection, reply schemas."""

from actors.llm._chaos import ChaosLlm, ChaosStatistics, Fault
from actors.llm._gateway import LlmGateway, LlmReply, LlmRequest
from actors.llm._offline import OPT_OUT, OfflineLlm, OfflineStatistics
from actors.llm._replies import (
    REPLY_TYPES,
    ClaimReply,
    DraftReply,
    ResearchReply,
    ScoreReply,
    reply_schema,
)
from actors.llm._tokens import estimate_tokens

__all__ = [
    "OPT_OUT",
    "REPLY_TYPES",
    "ChaosLlm",
    "ChaosStatistics",
    "ClaimReply",
    "DraftReply",
    "Fault",
    "LlmGateway",
    "LlmReply",
    "LlmRequest",
    "OfflineLlm",
    "OfflineStatistics",
    "ResearchReply",
    "ScoreReply",
    "estimate_tokens",
    "reply_schema",
]
