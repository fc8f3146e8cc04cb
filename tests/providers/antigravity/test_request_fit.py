"""Requests fitted to the model that serves them, as today's upstream accepts them (§12.4, §12.5)."""

from __future__ import annotations

from typing import Any

import pytest

from switchyard.providers.antigravity import Catalogue
from switchyard.providers.antigravity.request_fit import fit_request
from tests.providers.antigravity.test_catalogue import reply

TEXT = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


@pytest.fixture
def catalogue() -> Catalogue:
    catalogue = Catalogue.from_files()
    catalogue.observe(1, reply())
    return catalogue


def fit(
    catalogue: Catalogue, model: str, generation: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    request: dict[str, Any] = dict(TEXT)
    if generation is not None:
        request["generationConfig"] = generation
    request.update(kw.pop("extra", {}))
    return fit_request(request, catalogue.resolve(model), **kw)


def test_penalties_are_dropped_where_the_upstream_refuses_them(catalogue: Catalogue) -> None:
    penalties = {"presencePenalty": 0.5, "frequencyPenalty": 0.5, "temperature": 0.3}
    dropped = fit(catalogue, "gemini-3.8-flash-high", dict(penalties))["generationConfig"]
    assert dropped["temperature"] == 0.3 and not {"presencePenalty", "frequencyPenalty"} & set(dropped)
    kept = fit(catalogue, "gpt-oss-120b-medium", dict(penalties))["generationConfig"]
    assert kept["presencePenalty"] == 0.5 and kept["frequencyPenalty"] == 0.5


def test_a_model_that_must_think_never_gets_budget_zero(catalogue: Catalogue) -> None:
    fitted = fit(catalogue, "gemini-pro-agent", {"thinkingConfig": {"thinkingBudget": 0}})
    assert fitted["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 128, "includeThoughts": False}
    lite = fit(catalogue, "gemini-3.1-flash-lite", {"thinkingConfig": {"thinkingBudget": 0}})
    assert lite["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 0}


def test_levels_and_budgets_are_converted_to_what_the_model_takes(catalogue: Catalogue) -> None:
    pro = fit(
        catalogue, "gemini-3-pro-high", {"thinkingConfig": {"thinkingLevel": "high", "includeThoughts": True}}
    )
    assert pro["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 24576, "includeThoughts": True}
    tiered = fit(catalogue, "gemini-3.8-flash-tiered", {"thinking_config": {"thinking_budget": 800}})
    assert tiered["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "low"}
    suffixed = fit(
        catalogue, "gemini-3.8-flash-high", {"thinkingConfig": {"thinkingLevel": "low", "thinkingBudget": 9}}
    )
    assert suffixed["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 9}, (
        "the id picks the tier: no level; a budget within the reply's range passes (CPA-H)"
    )


def test_claude_budget_stays_below_the_output_cap_and_top_p_meets_its_floor(catalogue: Catalogue) -> None:
    fitted = fit(catalogue, "claude-sonnet-4-5-thinking", {"maxOutputTokens": 4000, "topP": 0.5})
    config = fitted["generationConfig"]
    assert config["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 3999}
    assert config["topP"] == 0.95
    tiny = fit(catalogue, "claude-sonnet-4-5-thinking", {"maxOutputTokens": 500, "topP": 0.5})
    assert "thinkingConfig" not in tiny["generationConfig"], "no room for Claude's 1024 minimum: no thinking"
    assert tiny["generationConfig"]["topP"] == 0.5, "the floor holds only while Claude thinks"
    plain = fit(catalogue, "claude-sonnet-4-5", {"topP": 0.5})
    assert plain["generationConfig"] == {"topP": 0.5}


def test_thoughts_are_shown_only_when_asked_on_the_gemini_surface(catalogue: Catalogue) -> None:
    quiet = fit(catalogue, "claude-sonnet-4-6", {}, show_thoughts=False)
    assert quiet["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 8192}
    shown = fit(catalogue, "claude-sonnet-4-6", {})
    assert shown["generationConfig"]["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 8192}


def test_image_requests_take_the_anchors_shape(catalogue: Catalogue) -> None:
    fitted = fit(
        catalogue,
        "gemini-3-pro-image",
        {
            "responseModalities": ["TEXT", "IMAGE"],
            "imageConfig": {"aspectRatio": "1:8", "imageSize": "4K"},
            "temperature": 1,
        },
        extra={"systemInstruction": {"parts": [{"text": "be nice"}]}, "tools": [{"googleSearch": {}}]},
    )
    assert fitted["generationConfig"] == {
        "candidateCount": 1,
        "imageConfig": {"aspectRatio": "1:8", "imageSize": "4K"},
    }
    assert "systemInstruction" not in fitted and "tools" not in fitted
    assert catalogue.resolve("gemini-3-pro-image").request_type == "image_gen"


def test_the_callers_request_is_left_untouched(catalogue: Catalogue) -> None:
    generation = {"presencePenalty": 1.0}
    request = {**TEXT, "generationConfig": generation}
    fit_request(request, catalogue.resolve("gemini-3-flash"))
    assert request["generationConfig"] is generation and generation == {"presencePenalty": 1.0}
