"""Fleet sync: the kit publishes its events to a coordination cell over MQTT (see docs/fleet.md)."""
