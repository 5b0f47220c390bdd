"""Rule sets (``--rules FILE``): which rules run and the thresholds they read."""

from __future__ import annotations

from pathlib import Path

import pytest
from _validation_fixtures import CTX, draft, fired, score

from actors import Icp
from actors.validation import RULE_IDS, RulePolicy
from messages import UsageError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_disabled_rule_does_not_run(tmp_path: Path) -> None:
    """A draft with a placeholder passes once draft.placeholder is disabled, and no other rule."""
    flawed = draft(body=draft().body.replace("Hi Zoë,", "Hi Zoë, {{first_name}},"))
    assert "draft.placeholder" in fired(flawed)
    policy = RulePolicy.load(write(tmp_path, 'disable = ["draft.placeholder"]\n'))
    assert "draft.placeholder" not in fired(flawed, policy.applied(CTX))
    assert policy.describe() == "disabled draft.placeholder"


def test_enable_keeps_only_the_rules_it_names(tmp_path: Path) -> None:
    """``enable`` runs only the rules listed: every other one is disabled."""
    policy = RulePolicy.load(write(tmp_path, 'enable = ["draft.greeting"]\n'))
    assert policy.disabled == frozenset(RULE_IDS) - {"draft.greeting"}


def test_thresholds_change_what_rules_read(tmp_path: Path) -> None:
    """A lower confidence threshold lets a doubtful score through."""
    doubtful = score(confidence=0.5)
    assert "score.confidence" in fired(doubtful)
    policy = RulePolicy.load(write(tmp_path, "[thresholds]\nconfidence_threshold = 0.4\n"))
    assert "score.confidence" not in fired(doubtful, policy.applied(CTX))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('disable = ["draft.nope"]\n', "disable names 'draft.nope', which is no rule"),
        ("disable = 3\n", 'disable must be a list of rule ids, such as ["draft.markup"]'),
        ("colour = 1\n", "unknown key 'colour'; a rule set has disable, enable and [thresholds]"),
        ("[thresholds]\nfit_high = 10\n", "unknown threshold 'fit_high'"),
        ("[thresholds]\nicp_tolerance = -4\n", "icp_tolerance=-4 must be >= 0"),
        ("[thresholds]\nicp_tolerance = 'x'\n", "threshold icp_tolerance = 'x' must be a number"),
        ("disable = [", "not a valid TOML file"),
    ],
)
def test_a_bad_rule_set_is_one_line_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    """Every mistake in the file is a UsageError that names the file and what is wrong."""
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        RulePolicy.load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_icp_validates_under_its_rule_set(tmp_path: Path) -> None:
    """``Icp.rules()`` carries the policy, so every validator built from the ICP honours it."""
    icp = Icp.load(ROOT / "examples" / "icp.toml")
    assert icp.rules().disabled == frozenset()
    policy = RulePolicy.load(write(tmp_path, 'disable = ["score.icp_disagreement"]\n'))
    assert icp.with_policy(policy).rules().disabled == {"score.icp_disagreement"}
