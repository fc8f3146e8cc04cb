"""OpenAI chat completions on Gemini web (`/gemini_official/v1/chat/completions`)."""
