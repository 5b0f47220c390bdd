"""The trusted certificates, loaded once per process and shared by every HTTP client."""

from __future__ import annotations

import functools
import ssl


@functools.cache
def trusted_tls(*, trust_env: bool = True) -> ssl.SSLContext:
    """The context ``httpx2`` builds for a client that verifies (``verify=True``), built once.

    Loading the system's certificates takes tens of milliseconds: every LLM client, web
    source and webhook sender of a process (and every system a test opens) would pay it
    again. ``trust_env`` reads ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``, as ``httpx2`` does.
    """
    import httpx2  # only a process that makes HTTP requests pays for the import

    return httpx2.create_ssl_context(trust_env=trust_env)
