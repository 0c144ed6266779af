"""The voice tests' real-call fixtures (Asterisk's media server row, the ARI worker, Celery), shared."""

from tests.voice.test_call_flows import celery, media_server, worker  # noqa: F401
