"""Events in the Portico envelope on NATS JetStream (contracts/events.yaml)."""
