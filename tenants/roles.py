"""Which roles may do what: every role set the portal's pages and sockets check, in one place, so an
app's views import them from here rather than from another app's views."""

from tenants.models import Role

ROLES_REQUIRING_2FA = frozenset({Role.OWNER, Role.ADMIN})
ROLES_MANAGING_KEYS = frozenset({Role.OWNER, Role.ADMIN, Role.DEVELOPER})
ROLES_MANAGING_NUMBERS = frozenset({Role.OWNER, Role.ADMIN, Role.DEVELOPER})
ROLES_MANAGING_AGENTS = ROLES_MANAGING_NUMBERS  # built-in AI agents answer the numbers
# Who may see and rotate the account's auth token, and invite people to it.
ROLES_MANAGING_ACCOUNT = frozenset({Role.OWNER, Role.ADMIN})
# Call logs and recordings are PHI: roles that run or review the account see them. Agents do not,
# until agents' own calls can be told apart (they would otherwise hear every caller's recordings).
CALL_VIEWER_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.SUPERVISOR, Role.AUDITOR})
# A conversation holds calls and recordings, so whoever may see the calls log may see the inbox;
# auditors only read.
INBOX_VIEWER_ROLES = CALL_VIEWER_ROLES
INBOX_WRITER_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.SUPERVISOR})
# Bulk alerts reach a whole school: the roles that run the account send them; auditors only read.
BULK_SENDER_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.SUPERVISOR})
BULK_VIEWER_ROLES = BULK_SENDER_ROLES | {Role.AUDITOR}
# Who waits in the call queues (the callers' numbers and waits): as for calls; the agents' own view
# comes with their console.
QUEUE_VIEWER_ROLES = CALL_VIEWER_ROLES
# The routing board shows who is working and what waits (no task's attributes): the roles that run
# the account change workers' activities, workers and queues; auditors only read. Agents get their own
# console with the next issue.
ROUTING_MANAGER_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.SUPERVISOR})
ROUTING_VIEWER_ROLES = ROUTING_MANAGER_ROLES | {Role.AUDITOR}
# The agent console is for whoever takes tasks as a worker (Worker.member), whatever their role;
# auditors only read, so they never work tasks.
CONSOLE_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.SUPERVISOR, Role.AGENT})
# Who may listen to, whisper to and barge into a live call: the people who run the floor.
MONITOR_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.SUPERVISOR})


def roles_grantable_by(role: str) -> list[Role]:
    """Owners may invite any role; admins any but owner, so nobody can raise someone above themselves."""
    if role == Role.OWNER:
        return list(Role)
    if role == Role.ADMIN:
        return [r for r in Role if r != Role.OWNER]
    return []
