"""TaskRouter: workspaces, workers, tasks and the routing that pairs them."""
