"""TaskRouter v1: workspaces, workers, task queues, workflows, tasks, reservations and their events."""
