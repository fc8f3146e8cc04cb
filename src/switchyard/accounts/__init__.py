"""Upstream account administration — add, import, log in, check, enable/disable, delete — shared by
the `switchyard accounts` CLI and the admin API. `service` holds the single-account operations and
checks, `importers` bulk imports from other proxies' exports, `login` the Antigravity OAuth flow.
Nothing here prints or knows about HTTP routes; the store's repository (`store/accounts.py`) does the
persistence."""
