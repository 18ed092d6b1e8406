"""What comes in on MQTT: topics routed to their handlers, payloads decoded and bounded, bad input rejected
with a reason (dead-letter topic, counter, a rate-limited log line)."""
