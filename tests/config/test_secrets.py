"""The platform's secrets: generated once, owner-only, shared by every process, independent of each other."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from config.secrets import ENVIRONMENT, SecretsError, load_secrets, new_field_key

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k" * 10 + "0123456789" * 5
OTHER_STRONG_KEY = "z" * 10 + "9876543210" * 5


def _settings_process(data_dir: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Python with the production settings and only the given secrets in its environment."""
    clean = {k: v for k, v in os.environ.items() if k not in {*ENVIRONMENT.values(), "SWITCHBOARD_ENV"}}
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", SWITCHBOARD_DATA_DIR=str(data_dir), **env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def test_first_load_writes_random_distinct_secrets_to_an_owner_only_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    loaded = load_secrets(data_dir, {}, development=False)
    path = data_dir / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    values = [loaded.secret_key, *loaded.field_keys, loaded.owner_password, loaded.app_password]
    assert len(set(values)) == 4 and all(len(value) >= 32 for value in values)
    assert len(loaded.secret_key) >= 50 and loaded.field_keys[0].startswith("1:")
    elsewhere = load_secrets(tmp_path / "elsewhere", {}, development=False)
    assert not {*values} & {elsewhere.secret_key, *elsewhere.field_keys, elsewhere.app_password}
    assert [p.name for p in data_dir.iterdir()] == ["secrets.json"]  # no temporary file left behind


def test_a_second_load_reads_the_same_secrets(tmp_path: Path) -> None:
    assert load_secrets(tmp_path, {}, development=False) == load_secrets(tmp_path, {}, development=False)


# Loads config/secrets.py by path, without site-packages (fast to start), once a line arrives on stdin so
# that every process loads at the same moment; prints what it read.
LOAD_ON_SIGNAL = (
    "import dataclasses, importlib.util, json, sys; from pathlib import Path; "
    "spec = importlib.util.spec_from_file_location('platform_secrets', 'config/secrets.py'); "
    "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); "
    "sys.stdin.readline(); "
    "print(json.dumps(dataclasses.asdict(module.load_secrets(Path(sys.argv[1]), {}, development=False))))"
)


def test_processes_starting_together_end_up_with_the_same_secrets(tmp_path: Path) -> None:
    for attempt in range(5):
        data_dir = tmp_path / str(attempt)
        processes = [
            subprocess.Popen(
                [sys.executable, "-S", "-c", LOAD_ON_SIGNAL, str(data_dir)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
        for process in processes:
            assert process.stdin is not None
            process.stdin.flush()
        results = [process.communicate(timeout=30)[0] for process in processes]
        assert all(process.returncode == 0 for process in processes)
        assert len(set(results)) == 1
        assert (
            json.loads(results[0])["secret_key"] == load_secrets(data_dir, {}, development=False).secret_key
        )


def test_environment_overrides_each_secret(tmp_path: Path) -> None:
    field_keys = f"{new_field_key('2')},{new_field_key('1')}"
    environ = {
        "DJANGO_SECRET_KEY": STRONG_KEY,
        "SWITCHBOARD_FIELD_KEYS": field_keys,
        "SWITCHBOARD_DB_OWNER_PASSWORD": "owner-from-env",
        "SWITCHBOARD_DB_APP_PASSWORD": "app-from-env",
    }
    loaded = load_secrets(tmp_path / "data", environ, development=False)
    assert loaded.secret_key == STRONG_KEY
    assert loaded.field_keys == tuple(field_keys.split(","))
    assert (loaded.owner_password, loaded.app_password) == ("owner-from-env", "app-from-env")
    assert not (tmp_path / "data").exists()  # nothing to generate, so nothing written

    generated = load_secrets(tmp_path, {}, development=False)
    partly = load_secrets(tmp_path, {"SWITCHBOARD_DB_APP_PASSWORD": "app-from-env"}, development=False)
    assert partly.app_password == "app-from-env"
    assert partly.owner_password == generated.owner_password and partly.secret_key == generated.secret_key


def test_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    load_secrets(tmp_path, {}, development=False)
    (tmp_path / "secrets.json").chmod(0o640)
    with pytest.raises(SecretsError, match="chmod 600"):
        load_secrets(tmp_path, {}, development=False)


def test_a_file_missing_a_secret_is_refused_not_regenerated(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text(json.dumps({"secret_key": STRONG_KEY}))
    (tmp_path / "secrets.json").chmod(0o600)
    with pytest.raises(SecretsError, match="field_keys"):
        load_secrets(tmp_path, {}, development=False)


@pytest.mark.parametrize(
    "key", ["switchboard-development-key-change-me-in-production", "short-but-random-Xq9", "a" * 60]
)
def test_a_published_or_weak_key_is_refused_outside_development(tmp_path: Path, key: str) -> None:
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    refused = _settings_process(tmp_path, code, DJANGO_SECRET_KEY=key)
    assert refused.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is a published or weak key" in refused.stderr
    assert "SWITCHBOARD_ENV=development" in refused.stderr

    allowed = _settings_process(tmp_path, code, DJANGO_SECRET_KEY=key, SWITCHBOARD_ENV="development")
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == key


def test_without_a_key_the_platform_starts_with_its_generated_one(tmp_path: Path) -> None:
    started = _settings_process(tmp_path, "from django.conf import settings; print(settings.SECRET_KEY)")
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == json.loads((tmp_path / "secrets.json").read_text())["secret_key"]
    assert started.stdout.strip() != "switchboard-development-key-change-me-in-production"


def test_stored_auth_tokens_still_decrypt_after_secret_key_changes(tmp_path: Path) -> None:
    encrypt = "from core import crypto; print(crypto.encrypt('auth-token', aad='AC1|tenants_account|t|1'))"
    sealed = _settings_process(tmp_path, encrypt, DJANGO_SECRET_KEY=STRONG_KEY)
    assert sealed.returncode == 0, sealed.stderr
    token = sealed.stdout.strip()
    decrypt = f"from core import crypto; print(crypto.decrypt({token!r}, aad='AC1|tenants_account|t|1'))"
    opened = _settings_process(tmp_path, decrypt, DJANGO_SECRET_KEY=OTHER_STRONG_KEY)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip() == "auth-token"


def test_role_passwords_do_not_change_with_secret_key(tmp_path: Path) -> None:
    code = (
        "from django.conf import settings; r = settings.DATABASE_ROLES; "
        "print(r.password(r.owner), r.password(r.app))"
    )
    before = _settings_process(tmp_path, code, DJANGO_SECRET_KEY=STRONG_KEY)
    after = _settings_process(tmp_path, code, DJANGO_SECRET_KEY=OTHER_STRONG_KEY)
    assert before.returncode == 0 and after.returncode == 0, before.stderr + after.stderr
    owner, app = before.stdout.split()
    assert after.stdout.split() == [owner, app] and owner != app
