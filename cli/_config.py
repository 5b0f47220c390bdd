"""What the commands that run the system share: the workspace they use, and the steps
from a run's settings to a configuration ready to start (the preflight, the drift
baseline, the settings and prompts written into the run directory)."""

from __future__ import annotations

from pathlib import Path

import anyio

from actors.llm import preflight
from cli._common import fail
from messages import LeadwrightError
from supervision.system import (
    PROMPTS_DIR,
    PipelineConfig,
    RunSettings,
    Workspace,
    configure,
    find_workspace,
    with_baseline,
)


def workspace_of(option: Path | None) -> Workspace | None:
    """The workspace a command uses: ``--workspace DIR``, else the current folder when it
    holds ``leadwright.toml``, else none. A bad workspace is a one-line error."""
    try:
        return find_workspace(option)
    except LeadwrightError as exc:
        fail(str(exc))


def ready(settings: RunSettings, out: Path, *, check_llm: bool = True) -> PipelineConfig:
    """The configuration of a run or a service on ``out``, once its model has answered the
    preflight (``check_llm``), with its drift baseline."""
    config = configure(settings, out)
    if check_llm:
        anyio.run(preflight, config.gateway, backend="asyncio")
    return with_baseline(config, settings.files.baseline)


def keep(settings: RunSettings, config: PipelineConfig) -> None:
    """Write the settings and the prompts into the run directory, for later commands."""
    settings.save(config.out)
    config.prompts.save(config.out / PROMPTS_DIR)
