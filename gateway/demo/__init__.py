"""`kanban-edge demo`: a broker, the service and simulated devices in one command."""
