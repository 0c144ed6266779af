"""Bulk alerts: one message to many recipients, from the form or the API to each recipient's message."""
