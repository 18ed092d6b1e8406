"""Device adapters: read a device that cannot speak MQTT and publish its readings for the gateway.

Adapters talk to the gateway only through the broker, so they run on the gateway box or next to the
machines. Each implements `edge.adapter.DeviceAdapter`.
"""
