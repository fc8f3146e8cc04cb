"""Faithful fakes of Google OAuth, Cloud Code `v1internal` and gemini.google.com (see base.py)."""
