"""`kanban-edge simulate`: the devices of a plant file played on this machine.

Scales drained by people picking parts, suppliers that refill after their lead time, RFID readers at kanban
posts and docks, and a Modbus TCP server per PLC that counts parts through the stations. They talk to the
service the way real devices do: MQTT for scales and readers, Modbus for PLCs (read by `kanban-edge edge`).
"""
