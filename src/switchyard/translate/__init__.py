"""Pure translation between client dialects and the canonical Gemini form. No I/O, no globals.

Request direction:  `to_gemini_request(body, model=profile, resolved_media=..., signatures=...)`
                    (the surface first downloads `media_urls(body)` with `switchyard.fetch`).
Response direction: `OpenAIChatStream.for_request(body, model=profile, signatures=...)`, then
                    `.feed(event)` / `.finish()` for SSE, or `.build_completion(events)`.
Anthropic Messages: `to_gemini_request_from_anthropic(body, model=profile, ...)` (the surface first
                    downloads `media_urls_of(body)`), and `AnthropicMessageStream.for_request(...)`,
                    then `.feed(event)` / `.finish()` for SSE, or `.build_message(events)`.
Helpers:            `clean_schema`, `tool_name_map`, `image_crop_ratio`, `Media`, `SignatureCache`.
"""

from switchyard.translate.anthropic_gemini import media_urls_of, to_gemini_request_from_anthropic
from switchyard.translate.gemini_anthropic import AnthropicMessageStream
from switchyard.translate.gemini_openai import OpenAIChatStream
from switchyard.translate.media import Media, media_from_data_url, sniff_mime
from switchyard.translate.openai_config import image_crop_ratio
from switchyard.translate.openai_gemini import to_gemini_request
from switchyard.translate.openai_parts import media_urls
from switchyard.translate.openai_tools import sanitize_function_name, tool_name_map
from switchyard.translate.profile import Family, ModelProfile
from switchyard.translate.schema import clean_schema
from switchyard.translate.signatures import (
    SKIP_SIGNATURE,
    SignatureCache,
    SignedThought,
    decode_signature_from_id,
    encode_signature_in_id,
)

__all__ = [
    "SKIP_SIGNATURE",
    "AnthropicMessageStream",
    "Family",
    "Media",
    "ModelProfile",
    "OpenAIChatStream",
    "SignatureCache",
    "SignedThought",
    "clean_schema",
    "decode_signature_from_id",
    "encode_signature_in_id",
    "image_crop_ratio",
    "media_from_data_url",
    "media_urls",
    "media_urls_of",
    "sanitize_function_name",
    "sniff_mime",
    "to_gemini_request",
    "to_gemini_request_from_anthropic",
    "tool_name_map",
]
