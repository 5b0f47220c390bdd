"""LLM backends behind one gateway: offline, OpenAI-compatible, fault injection, and the
policy-driven caller that every stage goes through."""

from actors.llm._caller import CallerStatistics, LlmCaller
from actors.llm._chaos import ChaosLlm, ChaosStatistics, Fault
from actors.llm._function import FunctionLlm
from actors.llm._gateway import LlmGateway, LlmReply, LlmRequest
from actors.llm._offline import OPT_OUT, OfflineLlm, OfflineStatistics
from actors.llm._openai import OpenAiLlm, OpenAiStatistics
from actors.llm._parse import parse_reply
from actors.llm._pricing import PRICES, Price, cost_usd
from actors.llm._rate_gate import RateGate, RateGateStatistics
from actors.llm._replies import (
    REPLY_TYPES,
    ClaimReply,
    DraftReply,
    ResearchReply,
    ScoreReply,
    reply_schema,
)
from actors.llm._strict_schema import strict_schema
from actors.llm._tokens import estimate_tokens

__all__ = [
    "OPT_OUT",
    "PRICES",
    "REPLY_TYPES",
    "CallerStatistics",
    "ChaosLlm",
    "ChaosStatistics",
    "ClaimReply",
    "DraftReply",
    "Fault",
    "FunctionLlm",
    "LlmCaller",
    "LlmGateway",
    "LlmReply",
    "LlmRequest",
    "OfflineLlm",
    "OfflineStatistics",
    "OpenAiLlm",
    "OpenAiStatistics",
    "Price",
    "RateGate",
    "RateGateStatistics",
    "ResearchReply",
    "ScoreReply",
    "cost_usd",
    "estimate_tokens",
    "parse_reply",
    "reply_schema",
    "strict_schema",
]
