"""What answers a built-in agent's caller: a language model, or the offline scripted agent."""
