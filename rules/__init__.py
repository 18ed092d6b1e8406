"""The product's logic, pure: readings, state and time in; new state and events out.

Nothing here performs I/O, reads the clock or knows about MQTT, HTTP, SQLite or asyncio.
Times are float seconds since the Unix epoch, passed in by the caller.
"""
