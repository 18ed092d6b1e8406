"""The ranges the domain allows, enforced where input enters (plant file, payloads, API) so that whatever
passes can be computed with and stored."""

MAX_COUNT = 2**53 - 1
"""The most pieces or units anything counts (WIP, quantities, units in and out): the largest integer that every
JSON reader keeps exact (JavaScript's Number.MAX_SAFE_INTEGER), and far inside SQLite's 64-bit integers."""

MAX_ID = 2**63 - 1
"""The largest id or sequence number: SQLite's largest integer."""
