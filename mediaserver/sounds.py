"""Media URIs Asterisk plays (an ARI playback's `media`), built only here, beside the folder every
instance plays the platform's own files from (`asterisk/instance.py`, `sounds_dir`)."""


def silence(seconds: int) -> str:
    """`seconds` of Asterisk's own silence, within the files it ships (`silence/1` to `silence/10`)."""
    return f"sound:silence/{min(max(seconds, 1), 10)}"


# The platform's hold music: written by voice.media on first use, looped by the bench's dialplan too.
HOLD_MUSIC = "hold/default"


def platform_file(path: str) -> str:
    """A file the platform wrote under the sounds folder (`tts/<name>`, `play/<name>`), as the dialplan's
    Playback names it: without its extension, Asterisk picks the format."""
    return f"switchboard/{path}"


def platform_sound(path: str) -> str:
    """`platform_file` as an ARI playback's media."""
    return f"sound:{platform_file(path)}"
