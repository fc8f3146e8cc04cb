"""The Gemini-native surface (`generateContent`, `streamGenerateContent`, `countTokens`) on Antigravity."""
