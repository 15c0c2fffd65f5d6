"""The agent's one data flow: modem → store → guards/commands → responder → compressor → outbox → modem."""
