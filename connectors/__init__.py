"""Outbound integrations (InfluxDB, supplier webhooks, ERP).

Each reads the service's committed event log (table `events` in the state database, ordered by `seq`)
through its own durable cursor, so an outage on the far side loses nothing.
"""
