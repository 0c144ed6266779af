"""Voice: calls, recordings and the TwiML interpreter (grows with the voice issue)."""
