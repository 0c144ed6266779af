"""The cached Debian chroot that every Asterisk instance runs from: creation, repair, host paths.

Asterisk comes from Debian sid's packages, installed by debootstrap into a folder that is made once and
then reused (about 500 MB). Several instances share it; what each owns is in `instance.py`.
"""

import fcntl
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_ROOT = "/var/cache/switchboard/asterisk-sid"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEBOOTSTRAP_SUITE = "sid"
DEBOOTSTRAP_PACKAGES = ("asterisk", "asterisk-modules")
DEBOOTSTRAP_TIMEOUT_S = 1800
ASTERISK_BINARY = "usr/sbin/asterisk"
# Prompts the worker renders or fetches; Asterisk plays them as `sound:switchboard/<name>`.
SOUNDS_SUBDIR = "var/lib/asterisk/sounds/switchboard"
# Asterisk looks for sounds under astdatadir/sounds; this link makes SOUNDS_SUBDIR visible there.
SOUNDS_LINK = "usr/share/asterisk/sounds/switchboard"
SOUNDS_LINK_TARGET = "../../../../var/lib/asterisk/sounds/switchboard"


class AsteriskSetupError(RuntimeError):
    """The chroot or an instance cannot be made ready; the message says what to do."""


def default_root() -> Path:
    return Path(os.environ.get("SWITCHBOARD_ASTERISK_ROOT", DEFAULT_ROOT))


def host_path(root: Path, guest_path: str) -> Path:
    """The host path of an absolute path as seen inside the chroot."""
    return root / guest_path.lstrip("/")


def root_is_complete(root: Path) -> bool:
    """debootstrap removes its own `debootstrap/` folder only when it finished."""
    return (root / ASTERISK_BINARY).is_file() and not (root / "debootstrap").exists()


def require_root_user() -> None:
    if os.geteuid() != 0:
        raise AsteriskSetupError(
            "Asterisk runs in a chroot, which needs root (chroot, mount /proc, debootstrap): "
            "run this as root, e.g. with sudo"
        )


def ensure_root(root: Path | None = None, *, mirror: str | None = None) -> Path:
    """Make the chroot usable and return its path. Idempotent; safe to call from several processes.

    Creates it with debootstrap into `<root>.tmp` when missing (about a minute, more on a slow mirror),
    then renames it into place, so a half-made chroot is never taken for a finished one. Every call
    then repairs what Asterisk needs and the minbase chroot lacks: `/etc/hosts` (without it Asterisk
    stalls seconds per call resolving its own name), `/proc` mounted, and the shared folders.
    """
    root = (root or default_root()).absolute()
    require_root_user()
    with _lock(root):
        if not root_is_complete(root):
            if root.exists():
                raise AsteriskSetupError(
                    f"{root} exists but has no finished Asterisk install ({ASTERISK_BINARY} missing or "
                    f"debootstrap unfinished): remove it and run setup again"
                )
            _bootstrap(root, mirror or os.environ.get("SWITCHBOARD_DEBIAN_MIRROR", DEFAULT_MIRROR))
        _write_hosts(root)
        mount_proc(root)
        _make_shared_dirs(root)
    return root


@contextmanager
def _lock(root: Path) -> Iterator[None]:
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _bootstrap(root: Path, mirror: str) -> None:
    tmp = root.with_name(root.name + ".tmp")
    if not root_is_complete(tmp):
        debootstrap = shutil.which("debootstrap")
        if debootstrap is None:
            raise AsteriskSetupError(
                "debootstrap is missing: apt-get install debootstrap (scripts/lib.sh installs it with "
                "sip-tester espeak-ng sox)"
            )
        if tmp.exists():
            unmount_proc(tmp)
            shutil.rmtree(tmp)
        log = root.with_name(root.name + ".debootstrap.log")
        started = time.monotonic()
        with open(log, "w") as out:
            result = subprocess.run(  # noqa: S603
                [
                    debootstrap,
                    "--variant=minbase",
                    "--include=" + ",".join(DEBOOTSTRAP_PACKAGES),
                    DEBOOTSTRAP_SUITE,
                    str(tmp),
                    mirror,
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=DEBOOTSTRAP_TIMEOUT_S,
                check=False,
            )
        if result.returncode != 0 or not root_is_complete(tmp):
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise AsteriskSetupError(f"debootstrap failed (exit {result.returncode}); end of {log}:\n{tail}")
        log.write_text(log.read_text() + f"\nfinished in {time.monotonic() - started:.1f} s\n")
    os.rename(tmp, root)


def _write_hosts(root: Path) -> None:
    hosts = root / "etc" / "hosts"
    wanted = f"127.0.0.1 localhost {socket.gethostname()}\n::1 localhost ip6-localhost ip6-loopback\n"
    if not hosts.is_file() or hosts.read_text() != wanted:
        hosts.write_text(wanted)


def _make_shared_dirs(root: Path) -> None:
    (root / SOUNDS_SUBDIR).mkdir(parents=True, exist_ok=True)
    (root / "var/lib/asterisk/keys").mkdir(parents=True, exist_ok=True)
    (root / "var/lib/asterisk/moh").mkdir(parents=True, exist_ok=True)
    link = root / SOUNDS_LINK
    if not link.is_symlink():
        link.symlink_to(SOUNDS_LINK_TARGET)


def _mountinfo_points() -> set[str]:
    points = set()
    with open("/proc/self/mountinfo") as info:
        for line in info:
            # Field 5 is the mount point, with space, tab, newline and backslash escaped in octal.
            point = line.split()[4]
            points.add(point.encode().decode("unicode_escape"))
    return points


def proc_is_mounted(root: Path) -> bool:
    return str(root / "proc") in _mountinfo_points()


def mount_proc(root: Path) -> None:
    if proc_is_mounted(root):
        return
    (root / "proc").mkdir(exist_ok=True)
    result = subprocess.run(  # noqa: S603
        ["mount", "-t", "proc", "proc", str(root / "proc")],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AsteriskSetupError(f"cannot mount /proc in {root}: {result.stderr.strip()}")


def unmount_proc(root: Path) -> None:
    if proc_is_mounted(root):
        subprocess.run(["umount", str(root / "proc")], check=True, capture_output=True)  # noqa: S603,S607


def modules_dir(root: Path) -> str:
    """The chroot's Asterisk modules folder, whose name carries the Debian architecture triplet."""
    found = sorted(root.glob("usr/lib/*/asterisk/modules"))
    if not found:
        raise AsteriskSetupError(f"no Asterisk modules folder under {root}/usr/lib")
    return "/" + str(found[0].relative_to(root))
