"""The `/app` HTML: the signed-in page with its WIZ_global_data tokens, and the signed-out page (§1.2, §1.5)."""

from __future__ import annotations

import json
import secrets

from switchyard.emulators import gemini_web_accounts as acct

PAGE_TOKENS_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gemini</title>
<script data-id="_gd" nonce="emulator">window.WIZ_global_data = {wiz};</script>
</head><body><chat-app id="app-root"></chat-app></body></html>
"""

LOGGED_OUT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gemini - chat to supercharge your ideas</title>
<script nonce="emulator">window.WIZ_global_data = {wiz};</script>
</head><body><a href="https://accounts.google.com/ServiceLogin?continue=https://gemini.google.com/app">Sign in</a>
</body></html>
"""


def app_page(account: acct.WebAccount) -> str:
    """A signed-in page carrying all five tokens gemini_webapi scrapes with `"KEY":\\s*"(.*?)"`."""
    wiz = {
        "SNlM0e": account.access_token,
        "cfb2h": acct.BUILD_LABEL,
        "FdrFJe": account.session_id,
        "TuX5cc": acct.LANGUAGE,
        "qKIAYe": acct.PUSH_ID,
        "Qzxixc": "S",
    }
    return PAGE_TOKENS_TEMPLATE.format(wiz=json.dumps(wiz, separators=(",", ":")))


def logged_out_page() -> str:
    """Today's signed-out page still carries the build, session, language and push tokens, only no
    `SNlM0e` (§13.2): clients initialise as a guest, and only otAQ7b's status (1016) tells."""
    wiz = {
        "cfb2h": acct.BUILD_LABEL,
        "FdrFJe": str(-secrets.randbelow(2**63)),
        "TuX5cc": acct.LANGUAGE,
        "qKIAYe": acct.PUSH_ID,
        "Qzxixc": "S",
        "oPEP7c": "",
    }
    return LOGGED_OUT_PAGE.replace("{wiz}", json.dumps(wiz, separators=(",", ":")))
