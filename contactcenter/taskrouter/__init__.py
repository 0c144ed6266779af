"""TaskRouter v1: workspaces, workers, task queues, workflows, tasks and reservations, the routing that pairs them, and their events."""
