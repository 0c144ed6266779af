"""The only code that speaks ARI: the client, event routing and call control."""
