"""The Gemini web provider (gemini.google.com through `gemini-webapi`, cookie accounts)."""
