"""``python -m actors.llm.testing --port P``: a fake OpenAI-compatible server to try the
openai backend against, answering like a flawless model, with the failures it can show.

    python -m actors.llm.testing --port 8088 --refuse json_schema
    OPENAI_API_KEY=sk-fake OPENAI_BASE_URL=http://127.0.0.1:8088/v1 \\
        python run.py run examples/leads.csv --llm openai --model fake-model
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from actors.llm.testing._offline_model import OfflineModel
from actors.llm.testing._server import FORMATS, FakeOpenAI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actors.llm.testing", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="The port on 127.0.0.1.")
    parser.add_argument("--model", action="append", help="A model it has (repeatable).")
    parser.add_argument(
        "--refuse",
        action="append",
        default=[],
        choices=sorted(FORMATS - {"text"}),
        help="A response_format type it refuses, as llama.cpp's server refuses json_schema.",
    )
    parser.add_argument("--api-key", help="The only key it accepts (any key when left out).")
    parser.add_argument("--outage-after", type=int, help="Go down after this many requests.")
    parser.add_argument("--outage-for", type=float, default=5.0, help="Seconds to stay down.")
    args = parser.parse_args(argv)
    models = args.model or ["fake-model"]
    server = FakeOpenAI(
        OfflineModel(),
        model=models[0],
        models=models,
        formats=FORMATS - set(args.refuse),
        api_key=args.api_key,
        port=args.port,
    )
    if args.outage_after is not None:
        server.schedule_outage(after=args.outage_after, seconds=args.outage_for)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with server:
        print(f"fake OpenAI server at {server.url} with models {', '.join(models)}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
