"""The platform's own secrets: Django's SECRET_KEY, the field-encryption keys, the database role passwords.

Each comes from its environment variable when set. Whatever is not set comes from
`<SWITCHBOARD_DATA_DIR>/secrets.json`, which the first process to start writes with random values
(owner-only, mode 0600) and every later process reads, so web, Celery, workers and tests agree.
No secret is derived from another: rotating one (docs/setup.md, "Secrets and how to rotate them")
leaves the others valid. Plain Python, no Django import, so settings can call it.
"""

import base64
import contextlib
import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "secrets.json"

# Keys published in this repository's history or in Django's templates: anyone can forge sessions with them.
PUBLISHED_KEYS = frozenset({"switchboard-development-key-change-me-in-production"})
# Django's own check (security.W009) asks for at least 50 characters and 5 distinct ones.
MIN_KEY_LENGTH = 50
MIN_KEY_CHARACTERS = 5
# Each secret's name in secrets.json and the environment variable that overrides it.
ENVIRONMENT = {
    "secret_key": "DJANGO_SECRET_KEY",
    "field_keys": "SWITCHBOARD_FIELD_KEYS",
    "db_owner_password": "SWITCHBOARD_DB_OWNER_PASSWORD",
    "db_app_password": "SWITCHBOARD_DB_APP_PASSWORD",
}


class SecretsError(Exception):
    """The secrets cannot be used as they are; the message says what to do."""


@dataclass(frozen=True, repr=False)  # no repr: settings dumps and tracebacks must not print them
class PlatformSecrets:
    secret_key: str
    field_keys: tuple[str, ...]  # "version:base64key", newest first (core/crypto.py)
    owner_password: str
    app_password: str


def new_field_key(version: str) -> str:
    """A field-encryption key in the form SWITCHBOARD_FIELD_KEYS and secrets.json hold."""
    return f"{version}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"


def _generate() -> dict[str, object]:
    return {
        "secret_key": secrets.token_urlsafe(64),
        "field_keys": [new_field_key("1")],
        "db_owner_password": secrets.token_urlsafe(32),
        "db_app_password": secrets.token_urlsafe(32),
    }


def _check_private(path: Path, fd: int) -> None:
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretsError(
            f"{path} is readable by others (mode {mode:o}); it holds the platform's keys. "
            f"Make it owner-only (chmod 600 {path}) and, if others could read it, rotate every secret "
            "in it (docs/setup.md, 'Secrets and how to rotate them')."
        )


def _read(path: Path) -> dict[str, object]:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd) as file:
        _check_private(path, fd)
        try:
            data = json.load(file)
        except json.JSONDecodeError as exc:
            raise SecretsError(f"{path} is not valid JSON ({exc}); restore it from a backup") from exc
    if not isinstance(data, dict):
        raise SecretsError(f"{path} is not a JSON object")
    return data


def _create(path: Path) -> None:
    """Write freshly generated secrets to `path` unless another process got there first.

    The values go to a private temporary file that is then hard-linked into place: the link fails
    if `path` exists, so when processes start together exactly one file wins and all of them read it.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            json.dump(_generate(), file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process won; its file is the one
            os.link(temporary, path)
    finally:
        temporary.unlink()


def _stored(data_dir: Path) -> dict[str, object]:
    path = data_dir / FILE_NAME
    if not path.exists():
        _create(path)
    return _read(path)


def _string(stored: dict[str, object], name: str, path: Path) -> str:
    value = stored.get(name)
    if not isinstance(value, str) or not value:
        raise SecretsError(f"{path} has no {name!r}; add one (docs/setup.md)")
    return value


def is_weak_key(key: str) -> bool:
    return (
        key in PUBLISHED_KEYS
        or key.startswith("django-insecure")
        or len(key) < MIN_KEY_LENGTH
        or len(set(key)) < MIN_KEY_CHARACTERS
    )


def load_secrets(data_dir: Path, environ: Mapping[str, str], *, development: bool) -> PlatformSecrets:
    """The secrets for this process; the file is created (or read) only if the environment lacks one.

    Outside development a weak or published DJANGO_SECRET_KEY is refused: it signs sessions and
    password-reset links, so a guessable one lets anyone sign in as anybody.
    """
    given = {name: environ.get(variable, "").strip() for name, variable in ENVIRONMENT.items()}
    path = data_dir / FILE_NAME
    stored: dict[str, object] = {} if all(given.values()) else _stored(data_dir)
    secret_key = given["secret_key"] or _string(stored, "secret_key", path)
    if not development and is_weak_key(secret_key):
        source = "DJANGO_SECRET_KEY" if given["secret_key"] else f"the secret_key in {path}"
        raise SecretsError(
            f"{source} is a published or weak key: it needs {MIN_KEY_LENGTH}+ random characters. "
            "Set one made by `python -c 'import secrets; print(secrets.token_urlsafe(64))'`, or unset "
            f"DJANGO_SECRET_KEY to use (or generate) the one in {path}. "
            "SWITCHBOARD_ENV=development allows a weak key on a developer's machine."
        )
    if given["field_keys"]:
        field_keys = tuple(key.strip() for key in given["field_keys"].split(",") if key.strip())
    else:
        listed = stored.get("field_keys")
        if not isinstance(listed, list) or not listed or not all(isinstance(k, str) for k in listed):
            raise SecretsError(f"{path} has no 'field_keys' list; add one (docs/setup.md)")
        field_keys = tuple(listed)
    return PlatformSecrets(
        secret_key=secret_key,
        field_keys=field_keys,
        owner_password=given["db_owner_password"] or _string(stored, "db_owner_password", path),
        app_password=given["db_app_password"] or _string(stored, "db_app_password", path),
    )
