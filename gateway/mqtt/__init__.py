"""The service's broker connection: MQTT packets decoded as they arrive, acknowledged once their effects are
committed."""
