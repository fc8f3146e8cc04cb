"""Types and plumbing every layer may import: the bottom of the dependency graph.

Nothing here imports the store, the pool, the keys, the providers or the HTTP surfaces (the
test `tests/test_layering.py` enforces it), so both a lower layer and an upper one can name
these types without the lower one learning about the upper.

    accounts.py   `UpstreamAccount`: one account as a provider calls it (secrets decrypted)
    context.py    `RequestContext`: what a request's surfaces, pool and middleware learn about it
    changes.py    key/account change notices over Redis pub/sub, so every instance drops its caches
    flight.py     one computation across instances (a Redis lock) with its result shared, sealed
"""
