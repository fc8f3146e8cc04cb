"""OpenAI images (generations, edits) on Gemini web, and the signed links to generated media."""
