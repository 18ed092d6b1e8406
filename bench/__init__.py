"""Throughput, memory and start-up benchmark for the gateway (`python -m bench.run`)."""
