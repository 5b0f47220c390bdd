"""A webhook receiver to start from: it checks each request's Standard Webhooks signature
with the ``standardwebhooks`` package, acts on each event once (by ``webhook-id``), and
prints every new event as one JSON line.

    python examples/webhook_receiver.py --secret-file runs/latest/webhook-secrets/1 --port 9000
    python run.py webhooks add http://127.0.0.1:9000/ --allow-private --out runs/latest

It answers 204 to an event it took (or had taken before: a redelivery), and 400 to a
request whose signature does not verify. ``--fail-rate R`` answers 500 to a share R of
requests instead, to rehearse the sender's retries; ``--record FILE`` appends every
request as a JSON line (headers, body, whether it verified, the answer), for tests.

Replace ``handle`` with what your system does with an event. A real receiver keeps the
ids it has seen in its database (here they are in memory) and answers quickly, doing the
slow work after answering.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

MAX_BODY = 1024 * 1024
"""The largest request body read; a larger one is refused."""


def handle(event: dict[str, Any]) -> None:
    """What to do with a new, verified event: here, print it."""
    print(json.dumps(event, ensure_ascii=False), flush=True)


class Receiver(ThreadingHTTPServer):
    """The server, with what every request needs."""

    def __init__(
        self,
        address: tuple[str, int],
        webhook: Webhook,
        *,
        fail_rate: float = 0.0,
        seed: int | None = None,
        record: Path | None = None,
    ) -> None:
        super().__init__(address, Handler)
        self.webhook = webhook
        self.fail_rate = fail_rate
        self.rng = random.Random(seed)
        self.record = record
        self.seen: set[str] = set()
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self._answer(413)
            return
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        server = self.server
        with server.lock:
            failing = server.rng.random() < server.fail_rate
            try:
                event = server.webhook.verify(body, headers)
            except WebhookVerificationError:
                status, verified = 400, False
            else:
                verified = True
                status = 500 if failing else 204
                if not failing and headers["webhook-id"] not in server.seen:
                    server.seen.add(headers["webhook-id"])
                    handle(event)
            if server.record is not None:
                line = {"headers": headers, "body": body.decode("utf-8", "replace"),
                        "verified": verified, "status": status}  # fmt: skip
                with server.record.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(line) + "\n")
        self._answer(status)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the events are the output."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret-file", type=Path, required=True, help="whsec_... file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000, help="0 for any free port")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share answered 500")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--record", type=Path, default=None, help="append requests here")
    args = parser.parse_args(argv)
    try:
        webhook = Webhook(args.secret_file.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        print(f"error: cannot read the secret in {args.secret_file}: {exc}", file=sys.stderr)
        return 1
    server = Receiver(
        (args.host, args.port), webhook, fail_rate=args.fail_rate, seed=args.seed,
        record=args.record,
    )  # fmt: skip
    host, port = server.server_address[:2]
    print(f"listening on http://{host!s}:{port}/", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
