"""Surfaces own HTTP: one package per client dialect (openai/, gemini/, images/), plus what they share:
error rendering (`render`), client-key extraction (`auth`), the request context (`context`), SSE (`sse`)."""
