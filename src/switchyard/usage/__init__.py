"""Usage events: durable before the response completes, written to the store in the background.

`record.py` the event and its JSON line; `spool.py` the local append-only spool files; `stream.py`
the Redis stream all instances drain; `writer.py` the idempotent batch write to the store;
`recorder.py` ties them together (read its docstring first).
"""

from switchyard.store.reachable import store_unreachable
from switchyard.usage.record import UsageRecord
from switchyard.usage.recorder import UsageRecorder
from switchyard.usage.spool import Spool
from switchyard.usage.stream import UsageStream

__all__ = ["Spool", "UsageRecord", "UsageRecorder", "UsageStream", "store_unreachable"]
