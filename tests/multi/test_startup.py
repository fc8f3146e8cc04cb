"""Instances started together on an empty PostgreSQL database all come up (issue 16, item 1).

Every instance migrates at startup; without the advisory lock in `store/db.py::migrate` two of
them race on `CREATE TABLE alembic_version` / the first migration and one dies.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from switchyard.store.db import MIGRATIONS_DIR
from tests.multi.cluster import cluster

pytestmark = pytest.mark.postgres  # and Redis: both skip with a reason when unreachable


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


@pytest.mark.parametrize("trial", range(3))
def test_three_instances_start_at_once_on_an_empty_database(tmp_path: Path, trial: int) -> None:
    with cluster(tmp_path, instances=3, start=False) as c:
        assert c.sql("SELECT to_regclass('alembic_version') AS t") == [{"t": None}]
        c.start()  # all three spawned before any is waited on
        assert all(instance.ready() for instance in c.instances)
        assert c.sql("SELECT version_num FROM alembic_version") == [{"version_num": _head()}]
        c.add_account("antigravity-1")
        key = c.create_key()
        client = c.client(key)
        assert [client.generate().status_code for _ in range(3)] == [200, 200, 200]


def test_an_instance_started_later_finds_the_schema_at_head(tmp_path: Path) -> None:
    """A restart (or a new replica) on a migrated database takes the lock, finds nothing to do."""
    with cluster(tmp_path, instances=2, accounts=1) as c:
        c.kill(0)
        c.restart(0)
        assert c.sql("SELECT version_num FROM alembic_version") == [{"version_num": _head()}]
        assert c.client(c.create_key()).generate(instance=0).status_code == 200
