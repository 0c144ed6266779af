"""Asterisk as the media engine: a cached Debian chroot and named instances running from it.

Django-free; `voice/media_servers.py` maps MediaServer rows to instances.
"""

from mediaserver.asterisk.chroot import AsteriskSetupError, default_root, ensure_root
from mediaserver.asterisk.instance import AsteriskError, AsteriskInstance

__all__ = ["AsteriskError", "AsteriskInstance", "AsteriskSetupError", "default_root", "ensure_root"]
