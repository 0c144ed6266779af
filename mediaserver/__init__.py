"""The media server: the only code that speaks to Asterisk (ARI over HTTP and its websocket) and
provisions it (the chroot, config and instances), and the one place PJSIP endpoint strings are built.

Django-free: voice and messaging use it; it imports nothing of theirs.
"""
