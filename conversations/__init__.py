"""Unified conversation history across calls, texts and notes (grows with the messaging issue)."""
