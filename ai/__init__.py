"""AI voice agents (grows with its issue)."""
