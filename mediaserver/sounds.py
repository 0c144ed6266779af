"""Media URIs Asterisk plays (an ARI playback's `media`), built only here, beside the folder every
instance plays the platform's own files from (`asterisk/instance.py`, `sounds_dir`)."""


def silence(seconds: int) -> str:
    """`seconds` of Asterisk's own silence, within the files it ships (`silence/1` to `silence/10`)."""
    return f"sound:silence/{min(max(seconds, 1), 10)}"


def platform_sound(path: str) -> str:
    """A file the platform wrote under the sounds folder (`tts/<name>`, `play/<name>`), without its
    extension: Asterisk picks the format."""
    return f"sound:switchboard/{path}"
