"""Asterisk as the media engine: a cached Debian chroot and named instances running from it.

Django-free except `servers`, which maps MediaServer rows to instances.
"""

from voice.asterisk.chroot import AsteriskSetupError, default_root, ensure_root
from voice.asterisk.instance import AsteriskError, AsteriskInstance

__all__ = ["AsteriskError", "AsteriskInstance", "AsteriskSetupError", "default_root", "ensure_root"]
