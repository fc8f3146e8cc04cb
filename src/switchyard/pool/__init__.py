"""The account pool: which account serves a request, and what an upstream failure does to it.

`pool.py` keeps the accounts and their resting state; `failover.py` runs a call on one account
after another until one succeeds, switching only before the first byte reached the client.
"""
