"""Instance settings, rendered config files and folders, without running Asterisk."""

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509

from mediaserver.asterisk import AsteriskInstance
from mediaserver.asterisk.config import FALLBACK_PROMPT, NOLOAD, render
from voice.media_servers import instance_for
from voice.models import MediaServer


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A stand-in chroot: just the modules folder that config rendering looks for."""
    (tmp_path / "usr/lib/x86_64-linux-gnu/asterisk/modules").mkdir(parents=True)
    return tmp_path


def make(root: Path, **overrides: object) -> AsteriskInstance:
    settings: dict[str, object] = {
        "name": "unit",
        "root": root,
        "sip_port": 5070,
        "ari_port": 8098,
        "rtp_start": 30000,
        "rtp_end": 30999,
        "ari_username": "sb",
        "ari_password": "s3cret-pw",
        "ari_app": "switchboard",
        "trunk_uri": "sip:127.0.0.1:5092",
    }
    settings.update(overrides)
    return AsteriskInstance(**settings)  # type: ignore[arg-type]


def test_asterisk_conf_gives_the_instance_its_own_folders(root: Path) -> None:
    text = render(make(root))["asterisk.conf"]

    for line in (
        "astetcdir => /etc/asterisk-unit",
        "astspooldir => /var/spool/asterisk-unit",
        "astrundir => /run/asterisk-unit",
        "astlogdir => /var/log/asterisk-unit",
        "astdbdir => /var/lib/asterisk-unit",
        "astdatadir => /usr/share/asterisk",
        "astmoddir => /usr/lib/x86_64-linux-gnu/asterisk/modules",
    ):
        assert line in text


def test_ports_credentials_and_trunk_are_rendered(root: Path) -> None:
    files = render(make(root))

    assert "bindaddr = 127.0.0.1\nbindport = 8098\nsessionlimit = 1000" in files["http.conf"]
    assert (
        "[sb]\ntype = user\nread_only = no\npassword = s3cret-pw\npassword_format = plain"
        in files["ari.conf"]
    )
    assert "rtpstart = 30000\nrtpend = 30999\n" in files["rtp.conf"]
    assert "icesupport = yes" in files["rtp.conf"]
    pjsip = files["pjsip.conf"]
    assert "bind = 127.0.0.1:5070" in pjsip
    assert "contact = sip:127.0.0.1:5092" in pjsip
    for setting in (
        "context = from-trunk",
        "message_context = messages-in",
        "direct_media = no",
        "dtmf_mode = rfc4733",
        "allow = ulaw,alaw",
        "rtp_symmetric = yes",
        "match = 127.0.0.1",
    ):
        assert setting in pjsip


def test_the_trunk_is_identified_by_its_own_host(root: Path) -> None:
    pjsip = render(make(root, trunk_uri="sip:carrier@192.0.2.10:5060"))["pjsip.conf"]

    assert "type = identify\nendpoint = trunk\nmatch = 192.0.2.10\n" in pjsip


def test_dialplan_sends_numbers_to_the_app_with_a_fallback(root: Path) -> None:
    text = render(make(root))["extensions.conf"]

    assert "exten => dialplan-bench,1,Answer()\n same => n,Read(DIGIT,beep,1,,1,5)" in text
    assert "n(app0),Stasis(switchboard,inbound)" in text
    assert "Stasis(switchboard-1" not in text
    assert f"Playback({FALLBACK_PROMPT})" in text
    # No extensions: SIP MESSAGE goes to ARI, and a softphone cannot dial through the dialplan.
    assert text.rstrip().endswith("[messages-in]\n\n[from-softphone]")


def test_dialplan_spreads_calls_over_one_app_per_worker_process(root: Path) -> None:
    text = render(make(root, worker_processes=3))["extensions.conf"]

    for index, app in enumerate(["switchboard", "switchboard-1", "switchboard-2"]):
        assert f"n(app{index}),Stasis({app},inbound)" in text
    assert "Set(GLOBAL(SB_NEXT_APP)=$[(0${GLOBAL(SB_NEXT_APP)} + 1) % 3])" in text  # round robin
    assert '"${STASISSTATUS}"="FAILED"]?pick' in text


def test_modules_conf_autoloads_but_skips_port_binding_modules() -> None:
    assert {"chan_iax2.so", "pbx_dundi.so", "chan_unistim.so"} <= set(NOLOAD)


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "Bad Name"},
        {"ari_password": "with;comment"},
        {"ari_password": ""},
        {"trunk_uri": "127.0.0.1:5092"},
        {"sip_port": 8098},
        {"tls_port": 5070},
        {"sip_port": 30500},
        {"rtp_start": 31000},
    ],
)
def test_unsafe_or_clashing_settings_are_refused(root: Path, overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make(root, **overrides)


def test_write_config_makes_folders_and_drops_stale_files(root: Path) -> None:
    instance = make(root)
    etc = instance.write_config()
    (etc / "stale.conf").write_text("")

    instance.write_config()

    assert etc == root / "etc/asterisk-unit"
    assert (etc / "pjsip.conf").read_text() == render(instance)["pjsip.conf"]
    assert not (etc / "stale.conf").exists()
    assert (root / "run/asterisk-unit").is_dir()
    assert instance.recording_dir == root / "var/spool/asterisk-unit/recording"
    assert instance.sounds_dir == root / "var/lib/asterisk/sounds/switchboard"
    assert instance.sounds_dir.is_dir()


def test_urls_and_addresses(root: Path) -> None:
    instance = make(root)

    assert instance.ari_url == "http://127.0.0.1:8098/ari"
    assert instance.events_url == "ws://127.0.0.1:8098/ari/events?app=switchboard&api_key=sb:s3cret-pw"
    assert instance.sip_address == "127.0.0.1:5070"
    assert instance.server_argv()[-3:] == ["-f", "-C", "/etc/asterisk-unit/asterisk.conf"]
    assert "-c" not in instance.server_argv()


def test_instance_for_takes_ports_from_the_media_server(root: Path) -> None:
    server = MediaServer(
        name="edge-1", ari_url="http://127.0.0.1:8188/ari", sip_port=5160, trunk_uri="sip:127.0.0.1:5190"
    )
    server.set_ari_password("pw-from-db")

    instance = instance_for(server, root=root)

    assert (instance.name, instance.ari_port, instance.sip_port) == ("edge-1", 8188, 5160)
    assert (instance.ari_username, instance.ari_password, instance.ari_app) == (
        "switchboard",
        "pw-from-db",
        "switchboard",
    )
    assert instance.trunk_uri == "sip:127.0.0.1:5190"
    assert instance_for(server, root=root, name="other").name == "other"


def test_wss_is_served_with_a_development_certificate_kept_across_writes(root: Path) -> None:
    instance = make(root, tls_port=8099)
    files = render(instance)
    assert "tlsenable = yes\ntlsbindaddr = 127.0.0.1:8099\n" in files["http.conf"]
    assert "tlscertfile = /etc/asterisk-unit/keys/wss.crt" in files["http.conf"]
    assert "[transport-wss]\ntype = transport\nprotocol = wss" in files["pjsip.conf"]
    assert "endpoint = astdb,softphone_endpoint" in files["sorcery.conf"]

    instance.write_config()
    cert = root / "etc/asterisk-unit/keys/wss.crt"
    first = cert.read_bytes()
    names = x509.load_pem_x509_certificate(first).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert ipaddress.ip_address("127.0.0.1") in names.value.get_values_for_type(x509.IPAddress)
    instance.write_config()
    assert cert.read_bytes() == first  # a browser's accepted exception survives a restart


def test_the_operators_certificate_is_copied_in(root: Path, tmp_path: Path) -> None:
    (tmp_path / "pbx.crt").write_text("CERT")
    (tmp_path / "pbx.key").write_text("KEY")
    instance = make(root, tls_cert_file=str(tmp_path / "pbx.crt"), tls_key_file=str(tmp_path / "pbx.key"))

    instance.write_config()

    assert (root / "etc/asterisk-unit/keys/wss.crt").read_text() == "CERT"
    assert (root / "etc/asterisk-unit/keys/wss.key").read_text() == "KEY"
    with pytest.raises(ValueError):
        make(root, tls_cert_file=str(tmp_path / "pbx.crt"))  # a certificate needs its key
