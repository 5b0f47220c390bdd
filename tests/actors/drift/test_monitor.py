"""The drift monitor on the buses, and the drift report it feeds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from actors import Actor, Context
from actors.drift import (
    PROFILE_FILE,
    REPORT_FILE,
    DriftMonitor,
    Profile,
    ProfileBuilder,
    compare,
    plot_title,
    write_report,
)
from bus import InProcessBus, TestBus
from messages import (
    Envelope,
    Fit,
    Lead,
    LeadAccepted,
    LeadScore,
    OutreachDraft,
    ResearchResult,
    Stage,
    UsageError,
    ValidationPassed,
)
from messages._drift import DriftColumn, DriftDetected, ProfileFlush, ProfileSaved

pytestmark = pytest.mark.anyio

INDUSTRIES = ("software", "education", "healthcare", "finance")
START = datetime(2025, 1, 1, tzinfo=UTC)


def leads(seed: int, count: int, *, shifted: bool = False) -> list[Lead]:
    """``count`` synthetic leads; ``shifted`` ones favour other industries and larger firms."""
    rng = random.Random(seed)
    weights, median = ((1, 2, 3, 4), 2000) if shifted else ((4, 3, 2, 1), 200)
    return [
        Lead(
            lead_id=f"L{n}",
            record=n + 1,
            first_name="Ada",
            last_name="Lovelace",
            email=f"ada{n}@acme.example",
            title=rng.choice(("CEO", "Head of Data", "Data Analyst")),
            company="Acme",
            domain="acme.example",
            industry=rng.choices(INDUSTRIES, weights)[0],
            employees=max(1, round(rng.lognormvariate(0, 0.5) * median)),
            country=rng.choice(("GB", "DE")),
            notes="n" * rng.randint(0, 200),
        )
        for n in range(count)
    ]


def profile_of(these: list[Lead]) -> Profile:
    builder = ProfileBuilder()
    for lead in these:
        builder.add_lead(lead)
    return builder.profile


async def feed(bus: TestBus, monitor: DriftMonitor, these: list[Lead]) -> None:
    for lead in these:
        assert await bus.deliver(monitor, LeadAccepted(lead=lead)) == []


def score_of(lead: Lead) -> LeadScore:
    return LeadScore(
        research=ResearchResult(lead=lead, evidence=(), summary="s", claims=()),
        icp_score=70,
        icp_fit=Fit.HIGH,
        fit=Fit.HIGH,
        score=70,
        confidence=0.8,
        reasons=(),
    )


async def test_a_shifted_run_publishes_drift_detected_then_profile_saved(tmp_path: Path) -> None:
    """Against a baseline of another mix, a flush publishes the drifted columns, then the save."""
    baseline = profile_of(leads(0, 200))
    monitor = DriftMonitor(tmp_path, ProfileBuilder(), baseline=baseline, baseline_name="base")
    bus = TestBus()
    await feed(bus, monitor, leads(1, 200, shifted=True))
    published = await bus.deliver(monitor, ProfileFlush())
    assert [type(e.message) for e in published] == [DriftDetected, ProfileSaved]
    (detected,) = bus.messages(DriftDetected)
    assert {"industry", "employees"} <= {c.name for c in detected.columns}
    assert all(c.drift for c in detected.columns)
    assert (detected.reference, detected.current) == ("base", str(tmp_path / PROFILE_FILE))
    (saved,) = bus.messages(ProfileSaved)
    assert saved == ProfileSaved(path=str(tmp_path / PROFILE_FILE), drift=saved.drift, columns=6)
    report = compare(baseline, Profile.load(tmp_path))
    assert saved.drift is report.drift
    assert detected.columns == report.drifted


async def test_without_a_baseline_a_flush_only_saves(tmp_path: Path) -> None:
    """With no baseline, a flush writes the profile and publishes ``ProfileSaved`` alone."""
    monitor = DriftMonitor(tmp_path / "run", ProfileBuilder())
    bus = TestBus()
    await feed(bus, monitor, leads(0, 10))
    published = await bus.deliver(monitor, ProfileFlush())
    path = str(tmp_path / "run" / PROFILE_FILE)
    assert [e.message for e in published] == [ProfileSaved(path=path, drift=False, columns=6)]
    assert Profile.load(tmp_path / "run").columns["industry"].rows == 10


async def test_an_identical_baseline_detects_nothing(tmp_path: Path) -> None:
    """A run compared with its own profile drifts in no column."""
    builder = ProfileBuilder()
    monitor = DriftMonitor(tmp_path, builder)
    bus = TestBus()
    await feed(bus, monitor, leads(0, 100))
    monitor.baseline = builder.profile.copy()
    published = await bus.deliver(monitor, ProfileFlush())
    assert [type(e.message) for e in published] == [ProfileSaved]


async def test_the_profile_survives_a_restart(tmp_path: Path) -> None:
    """A new incarnation given the composer's builder keeps counting where the last stopped."""
    builder = ProfileBuilder()
    bus = TestBus()
    await feed(bus, DriftMonitor(tmp_path, builder), leads(0, 30))
    restarted = DriftMonitor(tmp_path, builder)
    await feed(bus, restarted, leads(1, 20))
    await bus.deliver(restarted, ProfileFlush())
    assert Profile.load(tmp_path).columns["country"].rows == 50


async def test_approved_outputs_feed_the_output_columns(tmp_path: Path) -> None:
    """Approved scores and drafts give fit, retries and latency from the envelopes' times."""
    builder = ProfileBuilder()
    monitor = DriftMonitor(tmp_path, builder)
    bus = TestBus()
    (lead,) = leads(0, 1)
    score = score_of(lead)
    for message, attempt, seconds in (
        (LeadAccepted(lead=lead), 1, 0),
        (score, 2, 4),
        (OutreachDraft(score=score, subject="Hi", body="Hello"), 1, 9),
    ):
        envelope = Envelope(
            message=message,
            producer="test",
            trace_id="t",
            attempt=attempt,
            approved=message.probabilistic,
            created_at=START + timedelta(seconds=seconds),
        )
        await bus.deliver(monitor, envelope)
    passed = ValidationPassed(stage=Stage.WRITING, lead_id="L0", attempt=1, output_id="x")
    await bus.deliver(monitor, passed)
    columns = builder.profile.columns
    assert dict(columns["retried"].counts) == {"yes": 1, "no": 1}
    assert columns["latency_s"].values == [9.0]
    assert dict(columns["validation_failed"].counts) == {"pass": 1}


async def test_unapproved_outputs_never_reach_the_monitor(tmp_path: Path) -> None:
    """An unvalidated score is the validator's alone: the monitor refuses it."""
    monitor = DriftMonitor(tmp_path, ProfileBuilder())
    (lead,) = leads(0, 1)
    with pytest.raises(UsageError, match=r"does not handle LeadScore; add it to its handles$"):
        await TestBus().deliver(monitor, score_of(lead))


class Subscriber(Actor[DriftDetected | ProfileSaved]):
    """Records what the monitor announces, and sets ``saved`` once the profile is saved."""

    handles = (DriftDetected, ProfileSaved)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.received: list[DriftDetected | ProfileSaved] = []
        self.saved = anyio.Event()

    async def handle(self, ctx: Context[DriftDetected | ProfileSaved]) -> None:
        self.received.append(ctx.message)
        if isinstance(ctx.message, ProfileSaved):
            self.saved.set()


async def test_drift_detected_reaches_a_subscriber(bus: InProcessBus, tmp_path: Path) -> None:
    """On the in-process bus, another actor receives ``DriftDetected`` and then ``ProfileSaved``."""
    baseline = profile_of(leads(0, 200))
    monitor = DriftMonitor(tmp_path, ProfileBuilder(), baseline=baseline, mailbox_capacity=256)
    subscriber = Subscriber()
    async with anyio.create_task_group() as tg:
        await tg.start(monitor.run, bus)
        await tg.start(subscriber.run, bus)
        for lead in leads(1, 200, shifted=True):
            await bus.publish(Envelope.new(LeadAccepted(lead=lead), producer="test"))
        await bus.publish(Envelope.new(ProfileFlush(), producer="test"))
        with anyio.fail_after(10):
            await subscriber.saved.wait()
        monitor.stop()
        subscriber.stop()
    assert [type(m) for m in subscriber.received] == [DriftDetected, ProfileSaved]


def test_write_report_writes_a_table_and_one_plot_per_drifted_column(tmp_path: Path) -> None:
    """The markdown lists every column, drifted first, and links one PNG per drifted column."""
    reference = profile_of(leads(0, 300))
    current = profile_of(leads(1, 300, shifted=True))
    report = compare(reference, current)
    drifted = [c.name for c in report.drifted]
    assert {"industry", "employees"} <= set(drifted)
    path = write_report(report, reference, current, tmp_path / "report")
    assert path == tmp_path / "report" / REPORT_FILE
    pngs = sorted(p.name for p in path.parent.glob("*.png"))
    assert pngs == sorted(f"drift_{name}.png" for name in drifted)
    text = path.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + len(report.columns)
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows[1 : 1 + len(drifted)]] == [
        c.name for c in sorted(report.drifted, key=lambda c: -c.psi)
    ]
    for name in drifted:
        assert f"[plot](drift_{name}.png)" in text
        assert (path.parent / f"drift_{name}.png").read_bytes().startswith(b"\x89PNG")


def test_plot_titles_name_the_column_the_verdict_and_the_test() -> None:
    """A plot's title reads like ``industry: reference vs current (drift: K-S p=0.001)``."""
    column = DriftColumn(
        name="industry",
        role="input",
        test="ks",
        statistic=0.3,
        p_value=0.001,
        threshold=0.05,
        psi=0.4,
        psi_band="significant",
        drift=True,
    )
    assert plot_title(column) == "industry: reference vs current (drift: K-S p=0.001)"
    distance = column.model_copy(update={"test": "jensenshannon", "p_value": None, "drift": False})
    assert plot_title(distance) == "industry: reference vs current (no drift: Jensen-Shannon=0.3)"


async def test_a_full_live_window_is_judged_against_the_baseline(tmp_path: Path) -> None:
    """With a window, each full window of accepted leads is compared with the baseline at
    once: its verdict is handed on, drifted columns are published, and a new window starts."""
    baseline = profile_of(leads(0, 300))
    judged: list[Any] = []
    builder = ProfileBuilder(window=150)
    monitor = DriftMonitor(tmp_path, builder, baseline=baseline, on_window=judged.append)
    bus = TestBus()
    shifted = leads(1, 150, shifted=True)
    for lead in shifted[:-1]:
        assert await bus.deliver(monitor, LeadAccepted(lead=lead)) == []
    assert judged == [] and builder.window_leads == 149
    await bus.deliver(monitor, LeadAccepted(lead=shifted[-1]))
    [report] = judged
    [detected] = bus.messages(DriftDetected)
    assert "industry" in {column.name for column in report.drifted}
    assert {column.name for column in detected.columns} == {c.name for c in report.drifted}
    assert builder.window_leads == 0
    assert builder.profile.columns["industry"].rows == 150, "the whole-run profile goes on"


async def test_a_window_like_the_baseline_publishes_nothing(tmp_path: Path) -> None:
    """A full window drawn like the baseline is judged, and publishes no drift."""
    judged: list[Any] = []
    monitor = DriftMonitor(
        tmp_path,
        ProfileBuilder(window=150),
        baseline=profile_of(leads(0, 300)),
        on_window=judged.append,
    )
    bus = TestBus()
    for lead in leads(2, 150):
        await bus.deliver(monitor, LeadAccepted(lead=lead))
    [report] = judged
    assert "industry" not in {column.name for column in report.drifted}
    assert len(bus.messages(DriftDetected)) == (1 if report.drifted else 0)
