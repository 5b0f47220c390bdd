"""What the agents' tests on the test bus share: the sample ICP, a knowledge base that
knows one company, replies a stage accepts, and a gateway that answers from a script."""

from __future__ import annotations

import json

from actors import Icp, KnowledgeBase
from actors.llm._function import FunctionLlm
from actors.llm._gateway import LlmRequest
from tests.support.outputs import EVIDENCE
from tests.support.paths import EXAMPLES

ICP = Icp.load(EXAMPLES / "icp.toml")
KB = KnowledgeBase(
    {
        "arclight-academy.com": {
            "name": "Arclight Academy",
            "description": EVIDENCE[0].text,
            "facts": [e.text for e in EVIDENCE[1:]],
        }
    }
)

RESEARCH_REPLY = json.dumps(
    {
        "summary": "An LMS for universities.",
        "claims": [
            {"text": "Raised money.", "evidence_ids": ["e2"], "quote": "Raised a €12M Series A"}
        ],
    }
)
SCORE_REPLY = json.dumps({"fit": "high", "score": 80, "confidence": 0.9, "reasons": ["fits"]})


def replies(*answers: str | Exception) -> FunctionLlm:
    """A gateway that gives ``answers`` in order, raising the exceptions among them."""
    queue = list(answers)

    def script(request: LlmRequest) -> str:
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return FunctionLlm(script)
