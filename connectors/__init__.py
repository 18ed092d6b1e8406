"""Outbound integrations (supplier webhooks, InfluxDB, ERP).

They take the service's committed events, queue them in a durable store-and-forward outbox (`outbox`),
and deliver from there, so an outage on the far side loses nothing (`hub` wires them up).
"""
