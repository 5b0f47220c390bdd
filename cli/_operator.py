"""What an operator does to a run directory: review, dead letters, export."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import anyio
import typer

from actors import LetterStatus, ReviewItem, ReviewStatus
from cli._common import (
    DEFAULT_OUT,
    Json,
    Out,
    app,
    dead_app,
    fail,
    fold,
    must_exist,
    plain,
    review_app,
    stderr,
    stdout,
    table,
    with_journal,
    with_stores,
)
from cli._config import close_backends, config_of
from messages import LeadwrightError, OutreachDraft
from supervision import RunSettings, command_log, entry_detail
from supervision.system import (
    DirectoryLock,
    DraftEdit,
    DraftRefused,
    Stores,
    System,
    approve,
    crm_table,
    open_system,
    reject,
    replay,
    replayable,
)


@review_app.command("list")
def review_list(
    out: Out = DEFAULT_OUT,
    everything: Annotated[bool, typer.Option("--all", help="Include decided items.")] = False,
    json_output: Json = False,
) -> None:
    """Items waiting for a person (all items with --all)."""
    status = None if everything else ReviewStatus.OPEN.value
    items = with_stores(out, lambda stores: stores.review.items(status=status))
    if json_output:
        keys = ["id", "record", "lead_id", "stage", "failure", "status", "reason"]
        for item in items:
            typer.echo(json.dumps({k: getattr(item, k) for k in keys}, ensure_ascii=False))
        return
    rows = [
        [str(i.id), str(i.record), i.lead_id, i.stage, i.failure, i.status, fold(i.reason)]
        for i in items
    ]
    table(["id", "record", "lead_id", "stage", "failure", "status", "reason"], rows)


@review_app.command("show")
def review_show(
    item_id: Annotated[int, typer.Argument(help="The review item id.")], out: Out = DEFAULT_OUT
) -> None:
    """The lead, its outputs, the rules it failed, and what was done about it."""

    def read(stores: Stores) -> tuple[ReviewItem, list[tuple[str, str, str, str]]]:
        item = stores.review.item(item_id)
        if item is None:
            fail(f"no review item {item_id}; see review list")
        return item, stores.review.audit(item_id)

    item, actions = with_stores(out, read)
    request = item.request
    say = plain
    say(f"review item {item.id} ({item.status}): record {item.record}, lead {item.lead_id}")
    say(f"stage {request.stage.value}, {request.failure.value} after {request.attempts} attempt(s)")
    say(f"reason: {request.reason}")
    for remark in request.lead.remarks:
        say(f"note: {remark}")
    say("lead: " + request.lead.model_dump_json(indent=2))
    for violation in request.violations:
        say(f"failed rule {violation.rule}: {violation.reason}")
    output = request.last_output
    if isinstance(output, OutreachDraft):
        say(f"draft to {request.lead.email}:\n  Subject: {output.subject}\n")
        say("  " + output.body.replace("\n", "\n  "))
    elif output is not None:
        say("last output: " + output.model_dump_json(indent=2, exclude={"raw_reply"}))
    if output is not None and output.raw_reply is not None:
        say("raw LLM output:\n  " + output.raw_reply.replace("\n", "\n  "))
    trail = with_journal(out, lambda journal: journal.trace(item.lead_id))
    for entry in trail:
        detail = entry_detail(entry)
        say(
            f"history: {entry.created_at:%H:%M:%S.%f} {entry.kind} #{entry.attempt} "
            f"from {entry.producer}{'  ' + detail if detail else ''}"
        )
    for at, action, note, reviewer in actions:
        by = f" by {reviewer}" if reviewer else ""
        say(f"history: {at} {action}{by} {note}")


Reviewer = Annotated[str, typer.Option(help="Who decides (kept in the audit).")]


@review_app.command("approve")
def review_approve(
    item_ids: Annotated[list[int], typer.Argument(help="One or more review item ids.")],
    out: Out = DEFAULT_OUT,
    note: Annotated[str, typer.Option(help="Why it is approved.")] = "",
    override: Annotated[
        bool, typer.Option(help="Approve a draft that breaks a rule (needs --note).")
    ] = False,
    reviewer: Reviewer = "",
) -> None:
    """Approve items: each lead resumes where it stopped."""

    async def work(system: System) -> None:
        for item_id in item_ids:
            decision = await approve(
                system, item_id, reviewer=reviewer, note=note, override=override
            )
            stdout.print(
                f"approved review item {item_id}: record {decision.record} is now "
                f"{decision.outcome}",
                markup=False,
            )

    _operate(out, work, needs_llm=_needs_llm(out, item_ids))


@review_app.command("edit")
def review_edit(
    item_id: Annotated[int, typer.Argument(help="The review item id.")],
    subject: Annotated[str, typer.Option(help="The draft's new subject.")],
    body_file: Annotated[Path, typer.Option(help="A file holding the draft's new body.")],
    out: Out = DEFAULT_OUT,
    note: Annotated[str, typer.Option(help="Why, for the audit.")] = "",
    override: Annotated[
        bool, typer.Option(help="Approve although a rule still fails (needs --note).")
    ] = False,
    reviewer: Reviewer = "",
) -> None:
    """Edit a draft and approve it: it runs through the draft policy again first."""
    try:
        body = body_file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"--body-file {body_file}: cannot be read ({exc.strerror or exc})")
    edit = DraftEdit(subject=subject, body=body)

    async def work(system: System) -> None:
        decision = await approve(
            system, item_id, reviewer=reviewer, note=note, edit=edit, override=override
        )
        stdout.print(
            f"edited and approved review item {item_id}: record {decision.record} is now "
            f"{decision.outcome}",
            markup=False,
        )

    _operate(out, work, needs_llm=False)


@review_app.command("reject")
def review_reject(
    item_ids: Annotated[list[int], typer.Argument(help="One or more review item ids.")],
    reason: Annotated[str, typer.Option(help="Why it is rejected (required).")],
    out: Out = DEFAULT_OUT,
    reviewer: Reviewer = "",
) -> None:
    """Reject items: each lead ends as failed, with the reason."""

    def reject_all(stores: Stores) -> None:
        for item_id in item_ids:
            decision = reject(stores, item_id, reason, reviewer=reviewer)
            plain(f"rejected review item {item_id}: record {decision.record} is now failed")

    with_stores(out, reject_all, lock=True)


@dead_app.command("list")
def dead_letters_list(
    out: Out = DEFAULT_OUT,
    everything: Annotated[bool, typer.Option("--all", help="Include replayed ones.")] = False,
    json_output: Json = False,
) -> None:
    """Dead letters not yet replayed, rejected ones included (all of them with --all)."""
    waiting = {LetterStatus.OPEN.value, LetterStatus.REJECTED.value}
    items = [
        item
        for item in with_stores(out, lambda stores: stores.dead.items())
        if everything or item.status in waiting
    ]
    if json_output:
        keys = ["id", "record", "lead_id", "failure", "reason", "actor", "attempts", "status"]
        for item in items:
            typer.echo(json.dumps({k: getattr(item, k) for k in keys}, ensure_ascii=False))
        return
    rows = [
        [str(i.id), str(i.record or ""), i.lead_id or "", i.failure, i.actor, i.status,
         fold(i.reason)]
        for i in items
    ]  # fmt: skip
    table(["id", "record", "lead_id", "failure", "actor", "status", "reason"], rows)


@dead_app.command("show")
def dead_letters_show(
    letter_id: Annotated[int, typer.Argument(help="The dead letter id.")], out: Out = DEFAULT_OUT
) -> None:
    """One dead letter: its structured error, raw payload and raw LLM output."""
    item = with_stores(out, lambda stores: stores.dead.item(letter_id))
    if item is None:
        fail(f"no dead letter {letter_id}; see dead-letters list")
    plain(f"dead letter {item.id} ({item.status}): record {item.record}, lead {item.lead_id}")
    plain(f"failure: {item.failure} in {item.actor} after {item.attempts} attempt(s)")
    plain(f"reason: {item.reason}")
    plain(f"payload: {item.payload}")
    if item.raw_output is not None:
        plain(f"raw output: {item.raw_output}")


@dead_app.command("replay")
def dead_letters_replay(
    letter_ids: Annotated[
        list[int] | None, typer.Argument(help="Dead letters to replay; all open ones if omitted.")
    ] = None,
    out: Out = DEFAULT_OUT,
    rejected: Annotated[
        bool, typer.Option(help="Also replay leads that a person rejected.")
    ] = False,
) -> None:
    """Run dead-lettered leads again from the message that failed."""

    async def work(system: System) -> None:
        ids = (
            [i for given in letter_ids for i in replayable(system.stores, given, rejected=rejected)]
            if letter_ids
            else replayable(system.stores, None)
        )
        for letter_id in ids:
            decision = await replay(system, letter_id, rejected=rejected)
            plain(
                f"replayed dead letter {letter_id}: record {decision.record} is now "
                f"{decision.outcome}"
            )

    _operate(out, work, needs_llm=True)


@app.command()
def export(
    out: Out = DEFAULT_OUT,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """The CRM's rows (finished leads, score and draft) as CSV."""
    written = with_stores(out, crm_table)
    if csv_file is None:
        sys.stdout.write(written.text)
        return
    try:
        csv_file.write_text(written.text, encoding="utf-8")
    except OSError as exc:
        fail(f"--csv {csv_file}: cannot be written ({exc.strerror or exc})")
    plain(f"wrote {written.rows} rows to {csv_file}")


def _operate(out: Path, work: Callable[[System], Awaitable[None]], *, needs_llm: bool) -> None:
    """Run an operator's action on a system that admits nothing else, under the lock.

    An action that calls no model (a draft's approval) runs on the offline engine, so it
    needs no API key; one that does uses the run's settings.
    """
    must_exist(out)
    try:
        with DirectoryLock(out, command="operator action"):
            settings = RunSettings.load(out)
            if not needs_llm:
                settings = settings.model_copy(update={"llm": "offline", "chaos": 0.0})
            config = config_of(settings, out)

            async def main() -> None:
                try:
                    async with open_system(config, admit=False) as system:
                        await work(system)
                finally:
                    await close_backends(config)

            with command_log(out, secrets=[os.environ.get("OPENAI_API_KEY", "")]) as log:
                config = replace(config, log=log)
                anyio.run(main, backend="asyncio")
    except DraftRefused as exc:
        for violation in exc.violations:
            stderr.print(f"  {violation.rule}: {violation.reason}", markup=False)
        fail(str(exc))
    except LeadwrightError as exc:
        fail(str(exc))


def _needs_llm(out: Path, item_ids: list[int]) -> bool:
    """Whether approving these items calls the model: only those that have no draft."""
    items = with_stores(out, lambda stores: [stores.review.item(i) for i in item_ids])
    return any(
        item is not None and not isinstance(item.request.last_output, OutreachDraft)
        for item in items
    )
