"""Providers: one package per upstream. Each owns its HTTP client, auth, envelope and error classes.

A provider yields canonical response events (Gemini `GenerateContentResponse` dicts) as they arrive
and raises the classified errors of `switchyard.errors`; it never buffers a whole stream and never
touches the store: whatever it learns about an account (a discovered project, rotated cookies) it
hands back to the caller, who persists it.
"""

from __future__ import annotations

from switchyard.shared.accounts import UpstreamAccount

__all__ = ["UpstreamAccount"]
"""Re-exported, so code that names the account from here keeps working (its home is `shared/`)."""
