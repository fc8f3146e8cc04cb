"""Large bodies parse to exactly what orjson gives, with their long base64 strings cut out first."""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchyard.surfaces import json_body

IMAGE = base64.b64encode(bytes(range(256)) * 1200).decode()  # 409,600 characters
assert len(IMAGE) > json_body.LONG_STRING_BYTES


def _encodings(document: Any) -> list[bytes]:
    """The ways clients serialise: compact (orjson), Python's `json` (": " and ", "), indented."""
    return [
        orjson.dumps(document),
        json.dumps(document).encode(),
        json.dumps(document, indent=2).encode(),
    ]


DOCUMENTS = {
    "gemini inlineData": {
        "contents": [
            {"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": IMAGE * 3}}]}
        ]
    },
    "openai data URLs": {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64," + IMAGE * 2}},
                    {"type": "text", "text": "and"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + IMAGE}},
                ],
            }
        ],
    },
    "base64 inside text, quoted": {"text": 'he said "' + IMAGE * 3 + '" and left', "k": IMAGE * 3},
    "long text that is not base64": {"text": "lorem ipsum, " * 100_000, "data": IMAGE * 3},
    "strings in arrays and a long number": {"a": [IMAGE * 3, {"q": IMAGE * 3}], "n": 12345678901234567},
    "a key ending in a colon": {"k:": IMAGE * 3, "x": "y:"},
}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_large_documents_parse_exactly_as_orjson_does(name: str) -> None:
    document = DOCUMENTS[name]
    for raw in _encodings(document):
        assert len(raw) >= json_body.LARGE_BODY_BYTES
        assert json_body.loads(bytearray(raw)) == orjson.loads(raw) == document


def test_the_base64_strings_are_cut_out_before_parsing() -> None:
    raw = bytearray(orjson.dumps(DOCUMENTS["openai data URLs"]))
    before = len(raw)
    carved = json_body._carve(raw)
    content = DOCUMENTS["openai data URLs"]["messages"][0]["content"]
    assert sorted(carved.values()) == sorted([content[0]["image_url"]["url"], content[2]["image_url"]["url"]])
    assert len(raw) < before // 100, "what is left to parse is small"


def test_strings_that_are_not_whole_values_stay_in_place() -> None:
    raw = bytearray(orjson.dumps(DOCUMENTS["base64 inside text, quoted"]))
    carved = json_body._carve(raw)
    assert list(carved.values()) == [IMAGE * 3], "only the value of k; the quoted run in the text stays"


def test_small_bodies_and_bad_json() -> None:
    assert json_body.loads(bytearray(b'{"a": 1}')) == {"a": 1}
    with pytest.raises(orjson.JSONDecodeError):
        json_body.loads(bytearray(b'{"data": "' + IMAGE.encode() * 3 + b'"'))  # not closed
    with pytest.raises(orjson.JSONDecodeError):
        json_body.loads(bytearray(b'{"data": "' + IMAGE.encode() * 3 + b'" "x": 1}'))


base64_text = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=40
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20) | base64_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(
    value=json_values,
    long_repeat=st.integers(min_value=1, max_value=4),
    quoted=st.booleans(),
    prefix=st.sampled_from(["", "data:image/png;base64,", "data:application/pdf;base64,"]),
)
def test_any_document_with_long_strings_round_trips(
    value: Any, long_repeat: int, quoted: bool, prefix: str
) -> None:
    long = prefix + IMAGE * long_repeat
    document = {
        "before": value,
        "long": long,
        "nested": [{"deep": {"data": long}}, value],
        "text": f'"{long}"' if quoted else long[:100],
        "filler": IMAGE * 3,
    }
    for raw in _encodings(document):
        assert json_body.loads(bytearray(raw)) == document
