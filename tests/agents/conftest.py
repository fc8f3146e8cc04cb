"""The agents run against `switchyard demo`, as the end-to-end SDK tests do."""

from tests.e2e.conftest import demo

__all__ = ["demo"]
