"""Reading a run directory without changing a byte of it: its finished leads, what the
pipeline made of each, and the LLM calls they cost.

The journal is opened ``immutable`` (no lock, no write-ahead log, no ``-shm`` file made
beside it). When a write-ahead log sits beside it (a service still running, or a run
that crashed), the file and its log are copied into the evaluation's scratch directory
and the copy is read instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

from actors.drift import ProfileBuilder
from actors.llm import cost_usd
from messages import (
    Envelope,
    HumanReviewRequested,
    LeadAccepted,
    LeadScore,
    Message,
    OutreachDraft,
    ResearchResult,
    UsageError,
    ValidationFailed,
    ValidationPassed,
)
from supervision.evaluation._facts import Call, LeadFacts, RunFacts
from supervision.system import EVENTS_FILE, JOURNAL_FILE

JOURNAL_VERSION = 2
"""The journal schema this reader knows (``bus._journal.JOURNAL_VERSION``)."""
NOT_REPLAYED = ("rejected", "pending")
"""Outcomes a replay leaves out: intake decides a rejection, and a pending lead has no
outcome to compare with."""
_CHUNK = 400


@contextlib.contextmanager
def open_journal(out: Path, scratch: Path) -> Iterator[sqlite3.Connection]:
    """A connection to ``out``'s journal that cannot change anything in ``out``."""
    path = out / JOURNAL_FILE
    if not path.is_file():
        raise UsageError(f"{out}: no run here (no {JOURNAL_FILE}); pass the --out of a run")
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        copy = scratch / "journal-copy"
        copy.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy / path.name)
        shutil.copyfile(wal, copy / wal.name)
        connection = sqlite3.connect(copy / path.name)
    else:
        uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"
        connection = sqlite3.connect(uri, uri=True)
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version != JOURNAL_VERSION:
            raise UsageError(
                f"{path}: journal version {version}, and this version of leadwright reads "
                f"{JOURNAL_VERSION}; evaluate it with the version that wrote it"
            )
        yield connection
    finally:
        connection.close()


def finished_records(c: sqlite3.Connection) -> list[tuple[int, str, str, str, dict[str, object]]]:
    """Every record with its ledger outcome (``pending`` if none): record, lead id,
    outcome, reason, fields; in the order first submitted."""
    rows = c.execute(
        "SELECT r.record, r.lead_id, COALESCE(o.outcome, 'pending'), COALESCE(o.reason, ''), "
        "r.fields FROM records r LEFT JOIN outcomes o ON o.record = r.record ORDER BY r.record"
    ).fetchall()
    first = _first_outcomes(c)
    return [
        (int(r), str(lead), *first.get(int(r), (str(o), str(why))), json.loads(f))
        for r, lead, o, why, f in rows
    ]


def _first_outcomes(c: sqlite3.Connection) -> dict[int, tuple[str, str]]:
    """Each record's first outcome in the journal: the pipeline's own, before any person
    approved, edited or declined it (the ledger keeps the latest)."""
    first: dict[int, tuple[str, str]] = {}
    for (body,) in c.execute("SELECT body FROM messages WHERE kind = 'lead_outcome' ORDER BY seq"):
        message = json.loads(body)
        first.setdefault(int(message["record"]), (str(message["outcome"]), str(message["reason"])))
    return first


def read_run(
    c: sqlite3.Connection,
    out: Path | None,
    records: Sequence[tuple[int, str, str, str, dict[str, object]]],
) -> RunFacts:
    """The facts of ``records`` (as ``finished_records`` lists them) from the journal on
    ``c``, and their LLM calls from ``out``'s event log."""
    wanted = {
        lead: (record, outcome, reason, fields) for record, lead, outcome, reason, fields in records
    }
    compacted = _compacted(c, list(wanted))
    calls, recorded = read_calls(out, set(wanted)) if out is not None else ({}, False)
    builder = ProfileBuilder()
    leads: dict[str, LeadFacts] = {}
    researched_by: dict[str, str] = {}
    for lead_id, envelopes in _traces(c, list(wanted)):
        record, outcome, reason, fields = wanted[lead_id]
        _profile(builder, envelopes)
        leads[lead_id] = _facts(
            lead_id,
            record,
            outcome,
            reason,
            fields,
            envelopes,
            tuple(calls.get(lead_id, ())),
            lead_id in compacted,
        )
        research = _research(envelopes)
        if research is not None:
            researched_by[lead_id] = research.reused_from or lead_id
    _settle_shared_research(leads, researched_by, _unread_researchers(c, out, researched_by, leads))
    return RunFacts(leads=leads, profile=builder.profile, calls_recorded=recorded)


def _unread_researchers(
    c: sqlite3.Connection,
    out: Path | None,
    researched_by: dict[str, str],
    leads: dict[str, LeadFacts],
) -> dict[str, LeadFacts]:
    """The leads that researched for the leads read, but were not read themselves (left
    out of a ``--sample``): only their research, calls and verdicts matter."""
    missing = {researcher for researcher in researched_by.values() if researcher not in leads}
    if not missing:
        return {}
    calls = read_calls(out, missing)[0] if out is not None else {}
    return {
        lead_id: _facts(lead_id, -1, "", "", {}, envelopes, tuple(calls.get(lead_id, ())), False)
        for lead_id, envelopes in _traces(c, sorted(missing))
    }


def _settle_shared_research(
    leads: dict[str, LeadFacts],
    researched_by: dict[str, str],
    unread: Mapping[str, LeadFacts],
) -> None:
    """Charge each company's shared research to the first submitted of the leads read
    that used it, in place of whichever lead happened to research first.

    Leads of one company race for its research, and the winner differs from run to run;
    charged to the winner, a replay would show a difference in two leads' calls, tokens
    and research rules where nothing changed. Totals are the same either way. A winner
    left out of a sample (``unread``) still hands its research on: the replay of the
    sample researches that company once too.
    """
    users: defaultdict[str, list[str]] = defaultdict(list)
    for lead_id, researcher in researched_by.items():
        users[researcher].append(lead_id)
    for researcher, using in users.items():
        first = min(using, key=lambda lead_id: leads[lead_id].record)
        if researcher in unread:
            leads[first] = _moved_research(unread[researcher], leads[first])[1]
        elif researcher in leads and first != researcher:
            leads[researcher], leads[first] = _moved_research(leads[researcher], leads[first])


def _moved_research(source: LeadFacts, target: LeadFacts) -> tuple[LeadFacts, LeadFacts]:
    """``source`` without its research calls, rules and checks; ``target`` with them."""
    calls = [c for c in source.calls if c.stage == "research"]
    rules = [r for r in source.rules_failed if r.startswith("research.")]
    checks = source.checks.get("research", 0)
    return (
        dataclasses.replace(
            source,
            calls=tuple(c for c in source.calls if c.stage != "research"),
            rules_failed=tuple(r for r in source.rules_failed if not r.startswith("research.")),
            checks={k: v for k, v in source.checks.items() if k != "research"},
        ),
        dataclasses.replace(
            target,
            calls=(*calls, *target.calls),
            rules_failed=(*rules, *target.rules_failed),
            checks={**target.checks, "research": target.checks.get("research", 0) + checks},
        ),
    )


def _traces(
    c: sqlite3.Connection, trace_ids: list[str]
) -> Iterator[tuple[str, list[Envelope[Message]]]]:
    """Each trace's envelopes in journal order, a chunk of traces in memory at a time."""
    for start in range(0, len(trace_ids), _CHUNK):
        chunk = trace_ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows = c.execute(
            "SELECT message_id, trace_id, causation_id, producer, attempt, approved, created_at, "
            f"body FROM messages WHERE trace_id IN ({marks}) ORDER BY seq",
            chunk,
        )
        found: dict[str, list[Envelope[Message]]] = {trace_id: [] for trace_id in chunk}
        for message_id, trace_id, cause, producer, attempt, approved, at, body in rows:
            envelope = {
                "message_id": message_id,
                "trace_id": trace_id,
                "causation_id": cause,
                "producer": producer,
                "attempt": attempt,
                "approved": bool(approved),
                "created_at": at,
                "message": json.loads(body),
            }
            found[trace_id].append(Envelope.from_dict(envelope))
        yield from found.items()


def _compacted(c: sqlite3.Connection, trace_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(trace_ids), _CHUNK):
        chunk = trace_ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows = c.execute(f"SELECT trace_id FROM compacted WHERE trace_id IN ({marks})", chunk)
        found.update(str(row[0]) for row in rows)
    return found


def _facts(
    lead_id: str,
    record: int,
    outcome: str,
    reason: str,
    fields: dict[str, object],
    envelopes: list[Envelope[Message]],
    calls: tuple[Call, ...],
    compacted: bool,
) -> LeadFacts:
    research = _research(envelopes)
    score = _score(envelopes)
    draft = _draft(envelopes)
    failed = [e.message for e in envelopes if isinstance(e.message, ValidationFailed)]
    checks: Counter[str] = Counter(
        e.message.stage.value
        for e in envelopes
        if isinstance(e.message, ValidationPassed | ValidationFailed)
    )
    approved = any(e.approved and isinstance(e.message, LeadScore) for e in envelopes)
    return LeadFacts(
        lead_id=lead_id,
        record=record,
        fields=fields,  # type: ignore[arg-type]
        outcome=outcome,
        reason=reason,
        fit=score.fit.value if score is not None else None,
        score=score.score if score is not None else None,
        icp_fit=score.icp_fit.value if score is not None else None,
        score_approved=approved,
        subject=draft.subject if draft is not None else None,
        body=draft.body if draft is not None else None,
        # A verdict names a rule once however many reasons it gave.
        rules_failed=tuple(
            rule for f in failed for rule in dict.fromkeys(v.rule for v in f.violations)
        ),
        checks=dict(checks),
        evidence=research.evidence if research is not None else None,
        calls=calls,
        compacted=compacted and research is None,
    )


def _research(envelopes: list[Envelope[Message]]) -> ResearchResult | None:
    found = next((e.message for e in envelopes if isinstance(e.message, ResearchResult)), None)
    return found if isinstance(found, ResearchResult) else None


def _score(envelopes: list[Envelope[Message]]) -> LeadScore | None:
    """The approved score, or else the last one the model gave."""
    scores = [e for e in envelopes if isinstance(e.message, LeadScore)]
    approved = [e.message for e in scores if e.approved]
    chosen = approved[0] if approved else (scores[-1].message if scores else None)
    return chosen if isinstance(chosen, LeadScore) else None


def _draft(envelopes: list[Envelope[Message]]) -> OutreachDraft | None:
    """The approved draft, or else the one a person is asked about."""
    for envelope in envelopes:
        if envelope.approved and isinstance(envelope.message, OutreachDraft):
            return envelope.message
    for envelope in envelopes:
        message = envelope.message
        if isinstance(message, HumanReviewRequested) and isinstance(
            message.last_output, OutreachDraft
        ):
            return message.last_output
    return None


def _profile(builder: ProfileBuilder, envelopes: Iterable[Envelope[Message]]) -> None:
    """Profile one lead's messages as the drift monitor profiles them in a run."""
    for envelope in envelopes:
        match envelope.message:
            case LeadAccepted(lead=lead):
                builder.add_lead(lead, at=envelope.created_at)
            case LeadScore() as score if envelope.approved:
                builder.add_score(score, attempt=envelope.attempt, at=envelope.created_at)
            case OutreachDraft() as draft if envelope.approved:
                builder.add_draft(draft, attempt=envelope.attempt, at=envelope.created_at)
            case ValidationPassed():
                builder.add_verdict(passed=True)
            case ValidationFailed():
                builder.add_verdict(passed=False)
            case _:
                pass


def read_calls(out: Path, lead_ids: set[str]) -> tuple[dict[str, list[Call]], bool]:
    """The ``llm_call`` events of ``lead_ids`` in ``out``'s event log (its rotated files
    too, oldest first), and whether there was a log to read."""
    rotated = [p for p in out.glob(f"{EVENTS_FILE}.*") if p.suffix[1:].isdigit()]
    files = sorted(rotated, key=lambda p: -int(p.suffix[1:]))
    files += [out / EVENTS_FILE] if (out / EVENTS_FILE).is_file() else []
    calls: dict[str, list[Call]] = defaultdict(list)
    for path in files:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if '"llm_call"' not in line:
                    continue
                with contextlib.suppress(ValueError, TypeError, KeyError):
                    event = json.loads(line)
                    if event.get("event") == "llm_call" and event.get("trace_id") in lead_ids:
                        calls[event["trace_id"]].append(_call(event))
    return calls, bool(files)


def _call(event: dict[str, object]) -> Call:
    model = str(event.get("model") or "")
    prompt = int(event.get("prompt_tokens") or 0)  # type: ignore[call-overload]
    completion = int(event.get("completion_tokens") or 0)  # type: ignore[call-overload]
    return Call(
        stage=str(event["stage"]),
        model=model,
        latency_s=float(event.get("latency_s") or 0.0),  # type: ignore[arg-type]
        prompt_tokens=prompt,
        completion_tokens=completion,
        # A call that got no answer cost nothing; one answered by an unknown model, unknown.
        cost_usd=(cost_usd(model, prompt, completion) if model else None)
        if prompt or completion
        else 0.0,
    )
