"""Twilio-compatible TwiML: parse, validate and build documents. Plain Python, no Django."""
