from django.db import migrations

from core.rls import CURRENT_ACCOUNT, enable_rls, revoke_from_app

# The only way in: lock the account's chain head, hash the new entry onto it, insert, move the head.
# The canonical form must match compliance/chain.py exactly.
APPEND_FUNCTION = f"""
CREATE FUNCTION audit_append(p_account uuid, p_actor text, p_action text, p_object_sid text, p_payload_sha256 text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_prev text;
    v_seq bigint;
    v_ts timestamptz := date_trunc('microseconds', clock_timestamp());
    v_form text;
    v_hash text;
BEGIN
    IF p_account IS DISTINCT FROM {CURRENT_ACCOUNT} THEN
        RAISE EXCEPTION 'audit entries can only be appended for the current tenant';
    END IF;
    INSERT INTO compliance_auditchainhead (account_id, seq, head_hash)
    VALUES (p_account, 0, repeat('0', 64)) ON CONFLICT (account_id) DO NOTHING;
    SELECT seq + 1, head_hash INTO v_seq, v_prev
    FROM compliance_auditchainhead WHERE account_id = p_account FOR UPDATE;
    v_form := 'v1|' || concat_ws('|',
        length(p_account::text) || ':' || p_account::text,
        length(v_seq::text) || ':' || v_seq::text,
        '27:' || to_char(v_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        length(p_actor) || ':' || p_actor,
        length(p_action) || ':' || p_action,
        length(p_object_sid) || ':' || p_object_sid,
        length(p_payload_sha256) || ':' || p_payload_sha256);
    v_hash := encode(sha256(convert_to(v_prev || v_form, 'UTF8')), 'hex');
    INSERT INTO compliance_auditentry
        (account_id, seq, created_at, actor, action, object_sid, payload_sha256, prev_hash, hash)
    VALUES (p_account, v_seq, v_ts, p_actor, p_action, p_object_sid, p_payload_sha256, v_prev, v_hash);
    UPDATE compliance_auditchainhead SET seq = v_seq, head_hash = v_hash WHERE account_id = p_account;
    RETURN v_seq;
END $$;
"""

REFUSE_CHANGES = """
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON compliance_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON compliance_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
ALTER TABLE compliance_auditentry ENABLE ALWAYS TRIGGER audit_no_update_delete;
ALTER TABLE compliance_auditentry ENABLE ALWAYS TRIGGER audit_no_truncate;
"""


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]

    operations = [
        enable_rls("compliance_auditentry"),
        enable_rls("compliance_auditchainhead"),
        migrations.RunSQL(APPEND_FUNCTION, reverse_sql="DROP FUNCTION audit_append"),
        migrations.RunSQL(
            REFUSE_CHANGES,
            reverse_sql="DROP TRIGGER audit_no_update_delete ON compliance_auditentry; "
            "DROP TRIGGER audit_no_truncate ON compliance_auditentry; DROP FUNCTION audit_refuse_change();",
        ),
        revoke_from_app("compliance_auditentry", "INSERT, UPDATE, DELETE, TRUNCATE"),
        revoke_from_app("compliance_auditchainhead", "INSERT, UPDATE, DELETE, TRUNCATE"),
    ]
