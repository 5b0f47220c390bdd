"""The TLS trust every HTTP client of a process shares."""

from __future__ import annotations

import ssl

from actors.runtime import trusted_tls


def test_one_context_that_verifies_serves_every_client() -> None:
    """Built once (loading the certificates is the cost), and it verifies the peer and its
    name, as each client's own default would."""
    context = trusted_tls()
    assert context is trusted_tls()
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname


def test_a_client_that_ignores_the_environment_gets_its_own() -> None:
    """The webhook sender reads no ``SSL_CERT_*`` variables: it is not handed the context
    built from them."""
    assert trusted_tls(trust_env=False) is not trusted_tls()
    assert trusted_tls(trust_env=False).verify_mode is ssl.CERT_REQUIRED
