"""ensure_root's decisions, on stand-in folders: nothing is downloaded or mounted here."""

from pathlib import Path

import pytest

from mediaserver.asterisk import AsteriskSetupError, ensure_root
from mediaserver.asterisk import chroot as chroot_module


@pytest.fixture
def mounted(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    monkeypatch.setattr(chroot_module, "mount_proc", calls.append)
    return calls


def fake_debian(path: Path) -> None:
    (path / "usr/sbin").mkdir(parents=True)
    (path / "usr/sbin/asterisk").write_text("")
    (path / "etc").mkdir()
    (path / "usr/share/asterisk/sounds").mkdir(parents=True)


def test_not_root_is_told_to_use_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(chroot_module.os, "geteuid", lambda: 1000)

    with pytest.raises(AsteriskSetupError, match="needs root"):
        ensure_root(tmp_path / "root")


def test_missing_debootstrap_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(chroot_module.os, "geteuid", lambda: 0)
    monkeypatch.setattr(chroot_module.shutil, "which", lambda name: None)

    with pytest.raises(AsteriskSetupError, match="apt-get install debootstrap"):
        ensure_root(tmp_path / "root")


def test_a_finished_tmp_is_moved_into_place_and_repaired(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mounted: list[Path]
) -> None:
    monkeypatch.setattr(chroot_module.os, "geteuid", lambda: 0)
    monkeypatch.setattr(chroot_module.socket, "gethostname", lambda: "box")
    fake_debian(tmp_path / "root.tmp")

    root = ensure_root(tmp_path / "root")
    ensure_root(root)  # again: nothing to do, nothing breaks

    assert root == tmp_path / "root"
    assert not (tmp_path / "root.tmp").exists()
    assert (root / "etc/hosts").read_text().startswith("127.0.0.1 localhost box\n")
    assert (root / "var/lib/asterisk/sounds/switchboard").is_dir()
    link = root / "usr/share/asterisk/sounds/switchboard"
    assert link.resolve() == (root / "var/lib/asterisk/sounds/switchboard").resolve()
    assert mounted == [root, root]


def test_an_unfinished_root_is_not_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(chroot_module.os, "geteuid", lambda: 0)
    (tmp_path / "root/etc").mkdir(parents=True)

    with pytest.raises(AsteriskSetupError, match="no finished Asterisk install"):
        ensure_root(tmp_path / "root")
