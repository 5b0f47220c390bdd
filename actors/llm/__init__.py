"""LLM backends behind one gateway: offline, OpenAI-compatible, local GGUF, fault injection,
the policy-driven caller that every stage goes through, and the preflight before a run."""

from actors.llm._caller import LlmCaller
from actors.llm._caller_statistics import CallerStatistics, Usage
from actors.llm._chaos import ChaosLlm, ChaosStatistics, Fault
from actors.llm._factory import GatewaySpec, LlmKind, build_gateway
from actors.llm._function import FunctionLlm
from actors.llm._gateway import LlmGateway, LlmReply, LlmRequest, NamesItsModel, innermost
from actors.llm._local import LocalLlm, default_model_path, llama_cpp_available
from actors.llm._offline import OfflineLlm, OfflineStatistics
from actors.llm._offline_answers import OPT_OUT
from actors.llm._openai import OpenAiLlm, OpenAiStatistics
from actors.llm._parse import parse_reply
from actors.llm._preflight import PreflightFailed, preflight
from actors.llm._pricing import PRICES, Price, cost_usd, load_prices, price_of
from actors.llm._provider_breaker import (
    DOWN_LIMIT_S,
    BreakerPolicy,
    BreakerStatistics,
    HasBreakerPolicy,
    ProviderBreaker,
    ProviderBreakerStatistics,
    ProviderDown,
)
from actors.llm._rate_gate import RateGate, RateGateStatistics
from actors.llm._replies import (
    REPLY_TYPES,
    ClaimReply,
    DraftReply,
    ResearchReply,
    ScoreReply,
    reply_schema,
)
from actors.llm._spend import OFFLINE, OFFLINE_NO_COST, Spend
from actors.llm._strict_schema import strict_schema
from actors.llm._structured import (
    LADDER,
    MODES_FILE,
    ModeMemory,
    Rung,
    StructuredMode,
    describe_schema,
    structured_mode,
)
from actors.llm._tokens import estimate_tokens

__all__ = [
    "DOWN_LIMIT_S",
    "LADDER",
    "MODES_FILE",
    "OFFLINE",
    "OFFLINE_NO_COST",
    "OPT_OUT",
    "PRICES",
    "REPLY_TYPES",
    "BreakerPolicy",
    "BreakerStatistics",
    "CallerStatistics",
    "ChaosLlm",
    "ChaosStatistics",
    "ClaimReply",
    "DraftReply",
    "Fault",
    "FunctionLlm",
    "GatewaySpec",
    "HasBreakerPolicy",
    "LlmCaller",
    "LlmGateway",
    "LlmKind",
    "LlmReply",
    "LlmRequest",
    "LocalLlm",
    "ModeMemory",
    "NamesItsModel",
    "OfflineLlm",
    "OfflineStatistics",
    "OpenAiLlm",
    "OpenAiStatistics",
    "PreflightFailed",
    "Price",
    "ProviderBreaker",
    "ProviderBreakerStatistics",
    "ProviderDown",
    "RateGate",
    "RateGateStatistics",
    "ResearchReply",
    "Rung",
    "ScoreReply",
    "Spend",
    "StructuredMode",
    "Usage",
    "build_gateway",
    "cost_usd",
    "default_model_path",
    "describe_schema",
    "estimate_tokens",
    "innermost",
    "llama_cpp_available",
    "load_prices",
    "parse_reply",
    "preflight",
    "price_of",
    "reply_schema",
    "strict_schema",
    "structured_mode",
]
