"""Operations on the command line: machine failures, each with what broke, what to check,
and when it is retried next (``ops``); ``dead-letters`` is the same, by its older name."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from actors import DeadLetterItem, LetterStatus
from cli._cards import ops_card
from cli._common import (
    DEFAULT_OUT,
    Json,
    Out,
    Tsv,
    dead_app,
    fail,
    ops_app,
    plain,
    table,
    with_stores,
)
from cli._operator import allowed_retries, operate
from supervision.system import Operator

Everything = Annotated[bool, typer.Option("--all", help="Include retried and superseded items.")]


def letter_row(item: DeadLetterItem, allowed: int) -> dict[str, Any]:
    """An item as ``ops list --json`` prints it."""
    return {
        "id": item.id,
        "record": item.record,
        "lead_id": item.lead_id,
        "failure": item.failure,
        "what": item.explain,
        "check": item.check,
        "actor": item.actor,
        "attempts": item.attempts,
        "retries": item.retries,
        "retries_allowed": allowed,
        "next_retry_at": item.due_at,
        "status": item.state,
        "reason": item.reason,
    }


def ops_list(
    out: Out = DEFAULT_OUT,
    everything: Everything = False,
    json_output: Json = False,
    tsv: Tsv = False,
) -> None:
    """Machine failures waiting for a retry (all of them with --all): what broke, and when
    each is retried next by itself, or that its schedule is spent."""
    waiting = {LetterStatus.OPEN.value, LetterStatus.REJECTED.value}
    items = [
        item
        for item in with_stores(out, lambda stores: stores.dead.items())
        if everything or item.status in waiting
    ]
    allowed = allowed_retries(out)
    if json_output:
        for item in items:
            typer.echo(json.dumps(letter_row(item, allowed), ensure_ascii=False))
        return
    if not items and not tsv:
        plain("Operations is empty: no machine failure waits for a retry.")
        return
    rows = [
        [
            str(i.id),
            str(i.record or ""),
            i.lead_id or "",
            i.actor,
            i.explain,
            i.next_retry(allowed),
            *([i.state] if everything else []),
        ]
        for i in items
    ]
    headers = ["id", "record", "lead_id", "step", "what broke", "automatic retry"]
    table(headers + (["status"] if everything else []), rows, tsv=tsv, long={"what broke"})


def ops_show(
    letter_id: Annotated[int, typer.Argument(help="The Operations item id.")],
    out: Out = DEFAULT_OUT,
    json_output: Json = False,
) -> None:
    """One item: what broke in an operator's words, what to check, its retries, the error
    and the model's raw reply (--json: with the payload a retry sends)."""
    item = with_stores(out, lambda stores: stores.dead.item(letter_id))
    if item is None:
        fail(f"no Operations item {letter_id}; see ops list")
    allowed = allowed_retries(out)
    if json_output:
        data = letter_row(item, allowed) | {
            "raw_output": item.raw_output,
            "payload": json.loads(item.payload),
        }
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    plain(ops_card(item, allowed))


def ops_retry(
    letter_ids: Annotated[
        list[int] | None, typer.Argument(help="Items to retry; every open one if omitted.")
    ] = None,
    out: Out = DEFAULT_OUT,
    rejected: Annotated[
        bool, typer.Option(help="Also retry leads a person rejected (before declined existed).")
    ] = False,
) -> None:
    """Run each item's failed step again, now, as a new attempt."""

    async def work(operator: Operator) -> None:
        ids = (
            [i for given in letter_ids for i in operator.retryable(given, rejected=rejected)]
            if letter_ids
            else operator.retryable()
        )
        if not ids:
            plain("nothing to retry: Operations is empty")
        for letter_id in ids:
            decision = await operator.retry(letter_id, rejected=rejected)
            plain(
                f"retried Operations item {letter_id}: record {decision.record} is now "
                f"{decision.outcome}"
            )

    operate(out, work, needs_llm=True)


ops_app.command("list")(ops_list)
ops_app.command("show")(ops_show)
ops_app.command("retry")(ops_retry)
dead_app.command("list", help="The same as ops list.")(ops_list)
dead_app.command("show", help="The same as ops show.")(ops_show)
dead_app.command("replay", help="The same as ops retry.")(ops_retry)
