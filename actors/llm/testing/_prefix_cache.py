"""The fake server's prompt cache: the part of a prompt that repeats the start of an
earlier one is read from it, in whole blocks, as vLLM's prefix caching counts."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from typing import Any, final


def cache_text(request: Mapping[str, Any]) -> str:
    """What a provider's prompt cache keys on: the model, then each message in order."""
    messages = request.get("messages") or []
    parts = [str(request.get("model"))]
    parts += [f"<{m.get('role')}>{m.get('content') or ''}" for m in messages if isinstance(m, dict)]
    return "\n".join(parts)


@final
class PrefixCache:
    """Blocks of prompt text, each known by the hash of everything up to its end: a prompt
    whose first blocks were seen before reads them from the cache."""

    def __init__(self, block_chars: int) -> None:
        self.block_chars = block_chars
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()

    def read(self, text: str) -> int:
        """Characters of ``text`` read from the cache; then all of its blocks are cached."""
        if self.block_chars == 0:
            return 0
        chain = hashlib.sha256()
        hits, hashes = 0, []
        for start in range(0, len(text) - self.block_chars + 1, self.block_chars):
            chain.update(text[start : start + self.block_chars].encode())
            hashes.append(chain.digest())
        with self._lock:
            for digest in hashes:
                if digest not in self._seen:
                    break
                hits += 1
            self._seen.update(hashes)
        return hits * self.block_chars
