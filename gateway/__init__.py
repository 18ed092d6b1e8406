"""The kanban-edge service: MQTT ingest, state store, HTTP API and the wiring between them."""
