"""Messaging: SMS/MMS, carrier connectors and consent (grows with the messaging issue)."""
