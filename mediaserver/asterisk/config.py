"""The config files of one Asterisk instance, rendered as text from its settings (no I/O here).

An instance's etc folder holds only these files, so a module whose config file is absent declines to
load or runs on its defaults; the noload list below drops the ones that would still bind ports, touch
hardware or just slow start-up.
"""

from typing import TYPE_CHECKING

from mediaserver.asterisk.chroot import modules_dir
from mediaserver.sounds import HOLD_MUSIC, platform_file

if TYPE_CHECKING:
    from mediaserver.asterisk.instance import AsteriskInstance

# Played when a call reaches the Stasis app while no worker is connected. It ships with the chroot's
# asterisk-core-sounds-en (GSM); an-error-has-occurred is only in the extra sounds.
FALLBACK_PROMPT = "cannot-complete-as-dialed"
TRUNK_CONTEXT = "from-trunk"
MESSAGE_CONTEXT = "messages-in"
# Where a softphone's own INVITEs would land: a context without extensions, so a browser cannot place
# calls through Asterisk's dialplan (its calls come to it; placing them is the platform's job).
SOFTPHONE_CONTEXT = "from-softphone"
BENCH_EXTENSION = "dialplan-bench"
HOLD_BENCH_EXTENSION = "dialplan-hold-bench"
ECHO_BENCH_EXTENSION = "dialplan-echo-bench"

# Modules that autoload would start but the platform never uses. Some listen on ports of their own
# (IAX2 4569, unistim 5000, DUNDi 4520, motif/XMPP), which two instances on one host would fight over;
# the rest do database, hardware, calendar or provisioning work that only costs start-up time.
NOLOAD = (
    "chan_iax2.so",
    "chan_unistim.so",
    "chan_motif.so",
    "chan_console.so",
    "pbx_dundi.so",
    "pbx_lua.so",
    "pbx_ael.so",
    "pbx_realtime.so",
    "res_xmpp.so",
    "res_calendar.so",
    "res_calendar_caldav.so",
    "res_calendar_ews.so",
    "res_calendar_exchange.so",
    "res_calendar_icalendar.so",
    "res_snmp.so",
    "res_statsd.so",
    "res_hep.so",
    "res_hep_pjsip.so",
    "res_hep_rtcp.so",
    "res_phoneprov.so",
    "res_pjsip_phoneprov_provider.so",
    "res_smdi.so",
    "res_config_ldap.so",
    "res_config_odbc.so",
    "res_config_pgsql.so",
    "res_config_sqlite3.so",
    "res_config_curl.so",
    "res_odbc.so",
    "res_odbc_transaction.so",
    "cdr_adaptive_odbc.so",
    "cdr_odbc.so",
    "cdr_pgsql.so",
    "cdr_radius.so",
    "cdr_tds.so",
    "cdr_sqlite3_custom.so",
    "cdr_csv.so",
    "cdr_custom.so",
    "cdr_manager.so",
    "cel_odbc.so",
    "cel_pgsql.so",
    "cel_radius.so",
    "cel_tds.so",
    "cel_sqlite3_custom.so",
    "cel_custom.so",
    "cel_manager.so",
    "app_voicemail.so",
    "app_voicemail_odbc.so",
    "app_minivm.so",
    "app_jack.so",
    "app_festival.so",
    "app_sms.so",
    "app_adsiprog.so",
    "app_getcpeid.so",
    "res_adsi.so",
    "res_fax.so",
    "res_fax_spandsp.so",
    "res_stir_shaken.so",
    "res_pjsip_stir_shaken.so",
    "res_prometheus.so",
    "res_aeap.so",
    "res_speech_aeap.so",
    "res_pjsip_send_to_voicemail.so",
    "res_stun_monitor.so",
    "res_parking.so",
    "res_clialiases.so",
    "app_agent_pool.so",
    "app_confbridge.so",
    "app_page.so",
    "app_alarmreceiver.so",
    "app_amd.so",
    "app_followme.so",
    "app_queue.so",
    "func_odbc.so",
)


def stasis_apps(base: str, count: int) -> list[str]:
    """The Stasis app of each ARI worker process of one media server: `base`, `base-1`, `base-2`, ...

    ARI gives each app one events websocket, so a server run by N worker processes has N apps and
    its dialplan spreads inbound calls over them.
    """
    return [base, *(f"{base}-{i}" for i in range(1, count))]


def render(instance: "AsteriskInstance") -> dict[str, str]:
    """File name → content for the instance's etc folder."""
    return {
        "asterisk.conf": asterisk_conf(instance),
        "modules.conf": modules_conf(),
        "logger.conf": logger_conf(instance),
        "http.conf": http_conf(instance),
        "ari.conf": ari_conf(instance),
        "pjsip.conf": pjsip_conf(instance),
        "rtp.conf": rtp_conf(instance),
        "extensions.conf": extensions_conf(instance),
        "cdr.conf": "[general]\nenable=no\n",  # calls are recorded by the platform, not by Asterisk
        "cel.conf": "[general]\nenable=no\n",
        "manager.conf": "[general]\nenabled=no\n",  # no AMI: ARI is the only control path
        "indications.conf": INDICATIONS,
        "musiconhold.conf": "[default]\nmode = files\ndirectory = /var/lib/asterisk/moh\n",
        "res_http_media_cache.conf": "[general]\ntimeout_secs = 10\n",
        "stasis.conf": STASIS,
        "sorcery.conf": SORCERY,
        # Present but empty, so that their modules load on defaults instead of logging errors.
        **{name: "" for name in EMPTY_FILES},
    }


# Asterisk's defaults, spelled out. 22.10.1 still logs "Could not find option 'minimum_size' with type
# 'threadpool'" at start-up whatever this says: its defaults name the old section. Harmless.
STASIS = "[taskpool]\nminimum_size = 5\ninitial_size = 5\nidle_timeout_sec = 20\nmax_size = 50\n"

# Softphone endpoints are pushed at run time over ARI (mediaserver/softphones.py) into the astdb
# wizard, so they survive an Asterisk restart; pjsip.conf's objects (the trunk) stay the config
# wizard's. Sorcery creates in the first wizard that can and reads from all.
SORCERY = """\
[res_pjsip]
endpoint = config,pjsip.conf,criteria=type=endpoint
endpoint = astdb,softphone_endpoint
aor = config,pjsip.conf,criteria=type=aor
aor = astdb,softphone_aor
auth = config,pjsip.conf,criteria=type=auth
auth = astdb,softphone_auth
"""

EMPTY_FILES = (
    "acl.conf",
    "ccss.conf",
    "chan_websocket.conf",
    "features.conf",
    "geolocation.conf",
    "pjproject.conf",
    "pjsip_notify.conf",
    "pjsip_wizard.conf",
    "udptl.conf",
    "websocket_client.conf",
)


def asterisk_conf(instance: "AsteriskInstance") -> str:
    return f"""\
[directories]
astetcdir => {instance.etc_dir}
astspooldir => {instance.spool_dir}
astrundir => {instance.run_dir}
astlogdir => {instance.log_dir}
astdbdir => {instance.db_dir}
astcachedir => {instance.cache_dir}
astvarlibdir => /var/lib/asterisk
astkeydir => /var/lib/asterisk
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astmoddir => {modules_dir(instance.root)}
astsbindir => /usr/sbin

[options]
documentation_language = en_US
defaultlanguage = en
hideconnect = yes
maxfiles = 16384
disable_remote_console_shell = yes
"""


def modules_conf() -> str:
    lines = ["[modules]", "autoload=yes"]
    lines += [f"noload => {module}" for module in NOLOAD]
    return "\n".join(lines) + "\n"


def logger_conf(instance: "AsteriskInstance") -> str:
    # No `console` channel: nothing is printed to Asterisk's stdout but start-up banners.
    return f"""\
[general]
dateformat = %F %T.%3q

[logfiles]
{instance.log_dir}/messages.log => notice,warning,error
"""


def http_conf(instance: "AsteriskInstance") -> str:
    # sessionlimit: the default 100 concurrent HTTP/websocket sessions is hit by a busy ARI worker.
    # TLS serves browser softphones' SIP over WSS (`/ws`); ARI stays on the plain loopback port.
    return f"""\
[general]
enabled = yes
bindaddr = {instance.bind_host}
bindport = {instance.ari_port}
sessionlimit = 1000
tlsenable = yes
tlsbindaddr = {instance.bind_host}:{instance.tls_port}
tlscertfile = {instance.tls_cert_path}
tlsprivatekey = {instance.tls_key_path}
"""


def ari_conf(instance: "AsteriskInstance") -> str:
    return f"""\
[general]
enabled = yes
pretty = no

[{instance.ari_username}]
type = user
read_only = no
password = {instance.ari_password}
password_format = plain
"""


def pjsip_conf(instance: "AsteriskInstance") -> str:
    return f"""\
[global]
type = global
user_agent = Switchboard
; A softphone is known by its user name before its address: browsers on the trunk's host (one machine
; in development) would otherwise be taken for the trunk. The trunk's caller names match no endpoint.
endpoint_identifier_order = username,ip,anonymous

[transport-udp]
type = transport
protocol = udp
bind = {instance.bind_host}:{instance.sip_port}

; Browser softphones: SIP over the HTTP server's secure websocket (its address is http.conf's).
[transport-wss]
type = transport
protocol = wss
bind = {instance.bind_host}

[trunk]
type = aor
contact = {instance.trunk_uri}

[trunk]
type = endpoint
transport = transport-udp
aors = trunk
context = {TRUNK_CONTEXT}
; SIP MESSAGE must not enter {TRUNK_CONTEXT}: Stasis() on the shared message channel blocks all later
; messages. A context without extensions leaves them to ARI's TextMessageReceived.
message_context = {MESSAGE_CONTEXT}
disallow = all
allow = ulaw,alaw
; Default yes would re-INVITE bridged legs to send RTP to each other, bypassing recording and snoop.
direct_media = no
dtmf_mode = rfc4733
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes

; Requests from the trunk's address (calls and SIP MESSAGE alike) are the trunk endpoint's.
[trunk]
type = identify
endpoint = trunk
match = {trunk_host(instance.trunk_uri)}
"""


def trunk_host(trunk_uri: str) -> str:
    """The host of a sip: URI: `sip:carrier@192.0.2.10:5060` -> `192.0.2.10`."""
    host_port = trunk_uri.removeprefix("sip:").rpartition("@")[2]
    return host_port.rsplit(":", 1)[0] if host_port.count(":") == 1 else host_port


def rtp_conf(instance: "AsteriskInstance") -> str:
    return f"""\
[general]
rtpstart = {instance.rtp_start}
rtpend = {instance.rtp_end}
; WebRTC softphones need ICE; it is negotiated per endpoint (webrtc=yes), and SIP phones and the
; trunk, whose SDP offers no candidates, go on without it.
icesupport = yes
"""


def extensions_conf(instance: "AsteriskInstance") -> str:
    # A literal extension outranks a pattern, so dialplan-bench wins over the catch-all below it.
    return f"""\
[general]
static = yes
writeprotect = yes

[{TRUNK_CONTEXT}]
; Native-dialplan baseline for bench/voice: answer, short prompt, gather one digit, hang up.
exten => {BENCH_EXTENSION},1,Answer()
 same => n,Read(DIGIT,beep,1,,1,5)
 same => n,Hangup()

; Native-dialplan baseline for bench/routing: answer and loop the platform's hold music until the caller
; hangs up (the file exists once the platform has played it: the bench's warm-up call).
exten => {HOLD_BENCH_EXTENSION},1,Answer()
 same => n(music),Playback({platform_file(HOLD_MUSIC)})
 same => n,Goto(music)

; Asterisk alone as the far end, for bench/media's baseline and the tests' audio tools: every frame the
; caller sends (audio and digits) comes straight back, until the caller hangs up.
exten => {ECHO_BENCH_EXTENSION},1,Answer()
 same => n,Echo()

; Every dialled number (with or without +, or a SIP user name) goes to the ARI worker.
{_stasis_spread(stasis_apps(instance.ari_app, instance.worker_processes))}

[{MESSAGE_CONTEXT}]

[{SOFTPHONE_CONTEXT}]
"""


def _stasis_spread(apps: list[str]) -> str:
    """Hand the call to one worker process's Stasis app, taking the apps in turn.

    A global counter deals the calls round robin (two channels reading it at once merely get the
    same app). An app whose worker is not connected fails at once (STASISSTATUS=FAILED), so the call
    tries the next; when every app fails the caller hears the fallback prompt instead of silence.
    """
    count = len(apps)
    tries = "\n same => n,Goto(after)\n".join(
        f" same => n(app{i}),Stasis({app},inbound)" for i, app in enumerate(apps)
    )
    return f"""\
exten => _[+0-9a-zA-Z].,1,Set(SB_TRIES=0)
 same => n,Set(GLOBAL(SB_NEXT_APP)=$[(0${{GLOBAL(SB_NEXT_APP)}} + 1) % {count}])
 same => n,Set(SB_NEXT=${{GLOBAL(SB_NEXT_APP)}})
 same => n(pick),GotoIf($[${{SB_TRIES}} >= {count}]?fallback)
 same => n,Set(SB_TRIES=$[${{SB_TRIES}} + 1])
 same => n,Set(SB_APP=${{SB_NEXT}})
 same => n,Set(SB_NEXT=$[(${{SB_NEXT}} + 1) % {count}])
 same => n,Goto(app${{SB_APP}})
{tries}
 same => n(after),GotoIf($["${{STASISSTATUS}}"="FAILED"]?pick)
 same => n,Hangup()
 same => n(fallback),Answer()
 same => n,Playback({FALLBACK_PROMPT})
 same => n,Hangup()"""


INDICATIONS = """\
[general]
country = us

[us]
description = United States / North America
ringcadence = 2000,4000
dial = 350+440
busy = 480+620/500,0/500
ring = 440+480/2000,0/4000
congestion = 480+620/250,0/250
callwaiting = 440/300,0/10000
dialrecall = !350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440
record = 1400/500,0/15000
info = !950/330,!1400/330,!1800/330,0
stutter = !350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440
"""
