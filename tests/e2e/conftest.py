from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import Stack, antigravity_stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with antigravity_stack(tmp_path) as running:
        yield running
