"""What tests in several folders share and that is not a fixture: real servers on
127.0.0.1 (sites, webhook receivers, an OTLP collector, ``serve`` and NATS processes),
message types and valid outputs to build on, and the repository's paths. Fixtures live in
the ``conftest.py`` of the folder that uses them."""
