"""Carrier connectors: the ways a text message leaves and enters the platform (SMPP, SIP MESSAGE)."""
