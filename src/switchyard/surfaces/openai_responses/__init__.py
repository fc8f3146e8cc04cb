"""The OpenAI Responses dialect (`/v1/responses`) on both providers, for Codex and the SDKs.

Named `openai_responses` because `surfaces/responses.py` (the JSON response helper) holds the
name `responses`. `routes` parses and admits, `protocol` checks the wire body, `service` translates
(`translate.responses_gemini`, `translate.gemini_responses`), calls the pool, streams and stores.
"""
