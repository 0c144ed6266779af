"""Contact center: queues, agents and the browser softphone (grows with its issue)."""
