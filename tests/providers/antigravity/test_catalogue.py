"""The live catalogue: what the accounts report, the data file, forwarding, retirements, drift.

Pure tests on replies shaped like protocols/antigravity.md §12.2; the app tests drive the same
catalogue through the emulator.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from switchyard.providers.antigravity import Catalogue, ModelRetiredError
from switchyard.providers.antigravity.catalogue import RETIREMENT_TTL_S
from switchyard.providers.antigravity.metadata import MetadataError

CONTRACT = {
    "gemini-2.5-flash": "gemini-3.1-flash-lite",
    "gemini-2.5-flash-image": "gemini-3.1-flash-image",
    "gemini-2.5-flash-lite": "gemini-3.1-flash-lite",
    "gemini-2.5-flash-thinking": "gemini-3.1-flash-lite",
    "gemini-2.5-pro": "gemini-2.5-pro",
    "gemini-3-pro-image": "gemini-3.1-flash-image",
    "gemini-3-pro-low": "gemini-3.1-pro-low",
    "gemini-3-pro-high": "gemini-pro-agent",
    "claude-sonnet-4-5": "claude-sonnet-4-6",
    "claude-sonnet-4-5-thinking": "claude-sonnet-4-6",
    "gpt-oss-120b-medium": "gpt-oss-120b-medium",
}


def entry(display: str | None, provider: str = "API_PROVIDER_GOOGLE_GEMINI", **extra: Any) -> dict[str, Any]:
    info: dict[str, Any] = {"apiProvider": provider, **extra}
    if display:
        info["displayName"] = display
    info.setdefault("quotaInfo", {"remainingFraction": 0.5, "resetTime": "2026-12-03T17:00:00Z"})
    return info


def reply(**overrides: Any) -> dict[str, Any]:
    """A `fetchAvailableModels` reply like the Sept 2026 one (§12.2), shortened."""
    models = {
        "gemini-3.8-flash-high": entry("Gemini 3.8 Flash (High)", supportsThinking=True, thinkingBudget=-1),
        "gemini-3.8-flash-medium": entry(
            "Gemini 3.8 Flash (Medium)", supportsThinking=True, thinkingBudget=4000
        ),
        "gemini-3.8-flash-tiered": entry(
            None, supportsThinking=True, thinkingBudget=-1, minThinkingBudget=32
        ),
        "gemini-3.7-flash-medium": entry("Gemini 3.7 Flash (Medium)", supportsThinking=True),
        "gemini-pro-agent": entry("Gemini 3.1 Pro (High)", supportsThinking=True, thinkingBudget=10001),
        "gemini-3.1-pro-low": entry("Gemini 3.1 Pro (Low)", supportsThinking=True, thinkingBudget=1001),
        "gemini-3.1-pro-high": entry("Gemini 3.1 Pro (High)", tagTitle="New"),
        "gemini-3.1-flash-lite": entry("Gemini 3.1 Flash Lite"),
        "gemini-3.1-flash-image": entry("Gemini 3.1 Flash Image"),
        "gemini-2.5-pro": entry("Gemini 2.5 Pro", supportsThinking=True, thinkingBudget=1024),
        "claude-sonnet-4-6": entry(
            "Claude Sonnet 4.6 (Thinking)",
            "API_PROVIDER_ANTHROPIC_VERTEX",
            supportsThinking=True,
            thinkingBudget=1024,
        ),
        "claude-opus-4-6-thinking": entry("Claude Opus 4.6 (Thinking)", "API_PROVIDER_ANTHROPIC_VERTEX"),
        "gpt-oss-120b-medium": entry("GPT-OSS 120B (Medium)", "API_PROVIDER_OPENAI_VERTEX"),
        "chat_20706": {
            "apiProvider": "API_PROVIDER_INTERNAL",
            "isInternal": True,
            "quotaInfo": {"remainingFraction": 1},
        },
        "tab_flash_lite_preview": {"quotaInfo": {"remainingFraction": 1}},
    }
    body: dict[str, Any] = {
        "models": models,
        "defaultAgentModelId": "gemini-3.8-flash-high",
        "tieredModelIds": {"flash": ["gemini-3.8-flash-tiered"], "pro": ["gemini-3.1-pro-low"]},
        "deprecatedModelIds": {"gemini-3.1-pro-high": {"newModelId": "gemini-pro-agent"}},
        "imageGenerationModelIds": ["gemini-3.1-flash-image"],
        "tabModelIds": ["tab_flash_lite_preview"],
    }
    body.update(overrides)
    return body


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.from_files()


@pytest.mark.parametrize(("name", "target"), CONTRACT.items())
def test_contract_names_reach_todays_models_before_any_report(
    catalogue: Catalogue, name: str, target: str
) -> None:
    if name == "gemini-2.5-pro":
        target = "gemini-3.1-pro-low"  # forwarded only while no account lists it itself
    assert catalogue.resolve(name).upstream_id == target
    assert catalogue.resolve(f"models/{name}").upstream_id == target


@pytest.mark.parametrize(("name", "target"), CONTRACT.items())
def test_contract_names_reach_todays_models_after_a_report(
    catalogue: Catalogue, name: str, target: str
) -> None:
    catalogue.observe(1, reply())
    assert catalogue.resolve(name).upstream_id == target
    assert name in {spec.public_id for spec in catalogue.listing()}


def test_listing_is_todays_ids_and_the_contract_names(catalogue: Catalogue) -> None:
    catalogue.observe(1, reply())
    current = catalogue.current_ids()
    assert "gemini-3.8-flash-high" in current and "claude-opus-4-6-thinking" in current
    assert "gemini-3.1-pro-high" not in current, "deprecatedModelIds forwards it"
    assert not {"chat_20706", "tab_flash_lite_preview"} & set(current), "internal and tab ids are hidden"
    listed = [spec.public_id for spec in catalogue.listing()]
    assert listed[: len(current)] == current
    assert set(CONTRACT) <= set(listed)
    assert len(listed) == len(set(listed))


def test_the_upstreams_forwarding_wins_and_thinking_follows_the_alias(catalogue: Catalogue) -> None:
    catalogue.observe(1, reply())
    assert catalogue.resolve("gemini-3.1-pro-high").upstream_id == "gemini-pro-agent"
    assert catalogue.resolve("gemini-3.1-pro-high").forwarded_by == "deprecated"
    plain, thinking = catalogue.resolve("claude-sonnet-4-5"), catalogue.resolve("claude-sonnet-4-5-thinking")
    assert not plain.thinking and thinking.thinking
    assert plain.profile().thinking_budget == (1024, 64000), "reasoning_effort can still switch it on"
    assert catalogue.resolve("gemini-2.5-flash-thinking").profile().default_thinking_budget == 1024


def test_metadata_not_prefixes_decide_how_a_model_is_called(catalogue: Catalogue) -> None:
    """A model nobody has heard of is called as its reply says, whatever its id looks like."""
    catalogue.observe(
        1,
        reply(
            models={
                "gemini-claude-lookalike": entry(
                    "Mystery", "API_PROVIDER_ANTHROPIC_VERTEX", supportsThinking=True, thinkingBudget=2048
                ),
                "claude-named-but-gemini": entry(
                    "Other", supportsThinking=True, thinkingBudget=-1, minThinkingBudget=64
                ),
                "painter-9": entry("Painter"),
            },
            imageGenerationModelIds=["painter-9"],
        ),
    )
    lookalike = catalogue.resolve("gemini-claude-lookalike")
    assert lookalike.profile().family == "claude" and lookalike.family == "3p"
    assert lookalike.profile().thinking_budget == (1024, 64000)
    other = catalogue.resolve("claude-named-but-gemini")
    assert other.profile().family == "gemini-3" and other.family == "gemini"
    assert other.profile().thinking_budget == (64, 65535)
    painter = catalogue.resolve("painter-9")
    assert painter.request_type == "image_gen" and painter.profile().image_output


def test_tiered_ids_take_levels_and_unknown_display_names_come_from_the_data_file(
    catalogue: Catalogue,
) -> None:
    catalogue.observe(1, reply())
    tiered = catalogue.resolve("gemini-3.8-flash-tiered")
    assert tiered.profile().thinking_levels == ("low", "medium", "high")
    assert tiered.display_name == "Gemini 3.8 Flash"
    assert catalogue.resolve("gemini-3.8-flash-medium").display_name == "Gemini 3.8 Flash (Medium)"


def test_quota_groups_come_from_the_metadata(catalogue: Catalogue) -> None:
    catalogue.observe(1, reply())
    groups = {mid: catalogue.resolve(mid).family for mid in catalogue.current_ids()}
    assert groups["claude-sonnet-4-6"] == groups["gpt-oss-120b-medium"] == "3p"
    assert {
        groups["gemini-3.8-flash-high"],
        groups["gemini-3.1-flash-image"],
        groups["gemini-pro-agent"],
    } == {"gemini"}


def test_a_retirement_learned_from_an_answer_forwards_by_display_name(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue.observe(1, reply())
    assert (
        catalogue.retire("gemini-3.8-flash-medium", "Gemini 3.7 Flash (Medium)") == "gemini-3.7-flash-medium"
    )
    spec = catalogue.resolve("gemini-3.8-flash-medium")
    assert spec.upstream_id == "gemini-3.7-flash-medium" and spec.forwarded_by == "retired"
    assert "gemini-3.8-flash-medium" not in catalogue.current_ids()
    catalogue.observe(1, reply())  # still listed: the answer is believed over the list
    assert catalogue.resolve("gemini-3.8-flash-medium").upstream_id == "gemini-3.7-flash-medium"
    later = time.monotonic() + RETIREMENT_TTL_S + 1
    monkeypatch.setattr("switchyard.providers.antigravity.catalogue.time.monotonic", lambda: later)
    catalogue.observe(1, reply())
    assert catalogue.resolve("gemini-3.8-flash-medium").upstream_id == "gemini-3.8-flash-medium", (
        "tried again"
    )


def test_a_loose_display_name_and_a_raw_id_are_both_understood(catalogue: Catalogue) -> None:
    catalogue.observe(1, reply())
    assert catalogue.match_name("Claude Sonnet 4.6") == "claude-sonnet-4-6"
    assert catalogue.match_name("`gemini-pro-agent`.") == "gemini-pro-agent"
    assert catalogue.match_name("Gemini 9 Ultra") is None


def test_a_retirement_without_a_known_replacement_is_a_clear_404(catalogue: Catalogue) -> None:
    catalogue.observe(1, reply())
    assert catalogue.retire("gpt-oss-120b-medium", "GPT-Nothing 1") is None
    with pytest.raises(ModelRetiredError) as caught:
        catalogue.resolve("gpt-oss-120b-medium")
    assert caught.value.status == 404 and "no longer available" in caught.value.message
    assert "gpt-oss-120b-medium" not in {s.public_id for s in catalogue.listing()}


def test_operator_aliases_and_overrides_win(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[aliases]\n"claude-sonnet-4-5" = "claude-opus-4-6-thinking"\n"team-default" = "gemini-3-flash"\n'
        '[models."gemini-3-flash"]\nthinking_levels = ["low", "high"]\n'
    )
    catalogue = Catalogue.from_files(
        str(path), "fast=gemini-3.1-flash-lite, gemini-3.1-pro-high=gemini-3.1-pro-low"
    )
    catalogue.observe(1, reply())
    assert catalogue.resolve("claude-sonnet-4-5").upstream_id == "claude-opus-4-6-thinking"
    assert catalogue.resolve("team-default").profile().thinking_levels == ("low", "high")
    assert catalogue.resolve("fast").upstream_id == "gemini-3.1-flash-lite"
    assert catalogue.resolve("gemini-3.1-pro-high").upstream_id == "gemini-3.1-pro-low", (
        "operator beats upstream"
    )


@pytest.mark.parametrize(
    ("text", "setting", "message"),
    [
        ("[aliases]\nx = 3\n", "", "alias 'x'"),
        ('[models."m"]\nfamily = "llama"\n', "", "family must be one of"),
        ("not toml ===", "", "not valid TOML"),
        ("", "nonsense", "is not 'alias=model'"),
    ],
)
def test_malformed_overrides_say_what_is_wrong(tmp_path: Path, text: str, setting: str, message: str) -> None:
    path = tmp_path / "models.toml"
    path.write_text(text)
    with pytest.raises(MetadataError, match=message):
        Catalogue.from_files(str(path), setting)


def test_drift_names_unknown_models_vanished_targets_and_a_low_client_version(catalogue: Catalogue) -> None:
    full = reply()
    for model_id in catalogue.tables.models:
        full["models"].setdefault(model_id, entry(model_id))
    assert catalogue.drift(full, "antigravity/hub/2.11.0 darwin/arm64") == []
    assert any(
        "needs 2.11.0" in note for note in catalogue.drift(full, "antigravity/cli/1.1.12 windows/amd64")
    )
    models = full["models"]
    models["gemini-4-flash"] = entry("Gemini 4 Flash")
    del models["gemini-3.8-flash-high"], models["claude-sonnet-4-6"]
    notes = catalogue.drift(reply(models=models), "antigravity/hub/2.11.0 darwin/arm64")
    assert any("gemini-4-flash" in note for note in notes)
    assert any("claude-sonnet-4-5 → claude-sonnet-4-6" in note for note in notes)
    assert any("User-Agent" in note and "gemini-3.8-flash-high" in note for note in notes)
    assert any(
        note.startswith("models the shipped metadata knows") and "gemini-3.8-flash-high" in note
        for note in notes
    )


def test_the_data_file_decides_how_a_model_thinks_over_the_replys_hints(catalogue: Catalogue) -> None:
    body = reply()
    body["models"]["gemini-2.5-flash"] = entry("Gemini 3.5 Flash Lite")
    catalogue.observe(1, body)
    pro_low = catalogue.resolve("gemini-3.1-pro-low").profile()
    assert pro_low.thinking_budget == (128, 65535) and pro_low.thinking_levels == (), (
        "listed under tieredModelIds.pro, but budgets are what AGM-H sends Gemini 3.1 Pro"
    )
    assert "gemini-2.5-flash" not in catalogue.current_ids(), "a listed legacy key that an alias forwards"
    assert "gemini-2.5-flash" in {spec.public_id for spec in catalogue.listing()}
