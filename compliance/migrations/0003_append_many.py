from django.db import migrations

from core.rls import CURRENT_ACCOUNT

# `audit_append` took one entry; a Messages API batch appends dozens in one transaction, and a call per
# entry cost a round trip and the head's update each. This takes the entries as arrays, hashes each
# onto the one before in order, and moves the head once. The canonical form must match
# compliance/chain.py exactly (it is 0002's, unchanged).
APPEND_MANY = f"""
CREATE FUNCTION audit_append_many(
    p_account uuid, p_actors text[], p_actions text[], p_object_sids text[], p_payload_sha256s text[]
) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_prev text;
    v_seq bigint;
    v_ts timestamptz;
    v_form text;
    v_hash text;
    i integer;
BEGIN
    IF p_account IS DISTINCT FROM {CURRENT_ACCOUNT} THEN
        RAISE EXCEPTION 'audit entries can only be appended for the current tenant';
    END IF;
    IF cardinality(p_actors) IS DISTINCT FROM cardinality(p_actions)
        OR cardinality(p_actors) IS DISTINCT FROM cardinality(p_object_sids)
        OR cardinality(p_actors) IS DISTINCT FROM cardinality(p_payload_sha256s) THEN
        RAISE EXCEPTION 'audit entries need an actor, action, object and payload digest each';
    END IF;
    INSERT INTO compliance_auditchainhead (account_id, seq, head_hash)
    VALUES (p_account, 0, repeat('0', 64)) ON CONFLICT (account_id) DO NOTHING;
    SELECT seq, head_hash INTO v_seq, v_prev
    FROM compliance_auditchainhead WHERE account_id = p_account FOR UPDATE;
    FOR i IN 1 .. coalesce(cardinality(p_actors), 0) LOOP
        v_seq := v_seq + 1;
        v_ts := date_trunc('microseconds', clock_timestamp());
        v_form := 'v1|' || concat_ws('|',
            length(p_account::text) || ':' || p_account::text,
            length(v_seq::text) || ':' || v_seq::text,
            '27:' || to_char(v_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            length(p_actors[i]) || ':' || p_actors[i],
            length(p_actions[i]) || ':' || p_actions[i],
            length(p_object_sids[i]) || ':' || p_object_sids[i],
            length(p_payload_sha256s[i]) || ':' || p_payload_sha256s[i]);
        v_hash := encode(sha256(convert_to(v_prev || v_form, 'UTF8')), 'hex');
        INSERT INTO compliance_auditentry
            (account_id, seq, created_at, actor, action, object_sid, payload_sha256, prev_hash, hash)
        VALUES (p_account, v_seq, v_ts, p_actors[i], p_actions[i], p_object_sids[i], p_payload_sha256s[i],
                v_prev, v_hash);
        v_prev := v_hash;
    END LOOP;
    UPDATE compliance_auditchainhead SET seq = v_seq, head_hash = v_prev WHERE account_id = p_account;
    RETURN v_seq;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("compliance", "0002_append_only")]

    operations = [
        migrations.RunSQL(APPEND_MANY, reverse_sql="DROP FUNCTION audit_append_many"),
        # Every append goes through audit_append_many now, one entry being a list of one.
        migrations.RunSQL(
            "DROP FUNCTION audit_append(uuid, text, text, text, text)",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
