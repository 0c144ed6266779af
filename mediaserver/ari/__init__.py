"""ARI: the asyncio client and the routing of its events to their owners."""
