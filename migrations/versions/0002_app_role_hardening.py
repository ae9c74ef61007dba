"""Hardening: one pending generation per request, and an application role that cannot
raise its own plan.

Both dialects: a partial unique index on generations (user_id, request_key) while
pending, so a twin of a request in flight cannot be inserted (and so cannot be
charged: the reservation and the insert share one transaction).

PostgreSQL only. Row-level security limits rows, not columns; 0001 let
``repurposeflow_app`` write every column of its own rows, so a person could set their
own tier, limit and count, or insert their own subscription. Now:

- users: the app role may UPDATE only profile and preference columns (column
  privileges); it may INSERT only a fresh free account (policy WITH CHECK). The quota
  moves only through ``repurposeflow_reserve`` / ``repurposeflow_refund``, SECURITY
  DEFINER functions with fixed semantics (the reservation statement with the database's
  clock as the ceiling; a refund that never takes the count below the generations still
  charged in the window).
- generations: a trigger keeps the app role from re-opening a generation or clearing
  the charge of one that delivered (what would make a refund free).
- subscriptions, webhook_events, generations_archive, usage_daily: read-only (and
  row-level security still shows zero rows of the last three).
- usage_logs: append-only, and a row may name only one's own generation.
- No DELETE for the app role anywhere (it had no DELETE policy; now no privilege).
- ``repurposeflow_system`` is revoked from every other role that is a member of
  ``repurposeflow_app``: a web login is a member of the app role only.

Revision ID: 0002_app_role_hardening
Revises: 0001_initial
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_app_role_hardening"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

APP_ROLE = "repurposeflow_app"
SYSTEM_ROLE = "repurposeflow_system"

PENDING_INDEX = "uq_generations_user_request_key_pending"

# What a person may change about themselves: profile and preferences.
APP_UPDATABLE_USER_COLUMNS = (
    "email",
    "full_name",
    "default_tone",
    "banned_phrases",
    "sample_posts",
    "instagram_hashtag_cap",
)
# The seed's free limit: the only plan an account created by the app role may start on.
FREE_LIMIT = 10
# How far ahead of the database's clock the application's clock may be (clock skew)
# before the reservation stops believing it: a later "now" would roll the window early.
CLOCK_SKEW = "5 minutes"

CURRENT_USER_ID = "(SELECT NULLIF(current_setting('app.current_user_id', true), ''))"
OWN_USER_IDS = f"(SELECT u.id FROM users u WHERE u.clerk_user_id = {CURRENT_USER_ID})"
OWN_GENERATION_IDS = f"(SELECT g.id FROM generations g WHERE g.user_id IN {OWN_USER_IDS})"

USER_TABLES = ("users", "generations", "usage_logs", "subscriptions")
SYSTEM_TABLES = ("webhook_events", "generations_archive", "usage_daily")


def upgrade() -> None:
    pending = sa.text("status = 'pending'")
    op.create_index(
        PENDING_INDEX,
        "generations",
        ["user_id", "request_key"],
        unique=True,
        sqlite_where=pending,
        postgresql_where=pending,
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_downgrade()
    op.drop_index(PENDING_INDEX, table_name="generations")


# --- PostgreSQL ---------------------------------------------------------------------------

FRESH_FREE_ACCOUNT = (
    f"clerk_user_id = {CURRENT_USER_ID}"
    " AND subscription_tier = 'free' AND subscription_status = 'active'"
    f" AND generations_limit <= {FREE_LIMIT} AND generations_count_current_month = 0"
    " AND stripe_customer_id IS NULL AND stripe_subscription_id IS NULL"
    " AND subscription_current_period_end IS NULL AND deleted_at IS NULL"
)

RESERVE = f"""
CREATE FUNCTION repurposeflow_reserve(p_user_id uuid, p_now timestamptz)
RETURNS TABLE (out_count integer, out_limit integer, out_reset_at timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = {{schema}}, pg_temp
AS $$
  WITH clock AS (
    SELECT LEAST(p_now, statement_timestamp() + interval '{CLOCK_SKEW}') AS now
  )
  UPDATE users u SET
    generations_count_current_month =
      CASE WHEN u.usage_reset_at <= clock.now THEN 1
           ELSE u.generations_count_current_month + 1 END,
    usage_reset_at =
      CASE WHEN u.usage_reset_at <= clock.now
           THEN (date_trunc('month', clock.now AT TIME ZONE 'UTC') + interval '1 month')
                AT TIME ZONE 'UTC'
           ELSE u.usage_reset_at END,
    last_generation_at = clock.now
  FROM clock
  WHERE u.id = p_user_id
    AND u.deleted_at IS NULL
    AND u.clerk_user_id = NULLIF(current_setting('app.current_user_id', true), '')
    AND ((u.usage_reset_at <= clock.now AND u.generations_limit > 0)
         OR u.generations_count_current_month < u.generations_limit)
  RETURNING u.generations_count_current_month, u.generations_limit, u.usage_reset_at
$$
"""

# Each statement of a VOLATILE plpgsql function takes a fresh snapshot, so the count of
# charged generations is read after the row lock, with every refund before it visible.
REFUND = """
CREATE FUNCTION repurposeflow_refund(p_user_id uuid, p_charged_reset_at timestamptz)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = {schema}, pg_temp
AS $$
DECLARE
  v_count integer;
  v_window timestamptz;
  v_charged bigint;
BEGIN
  SELECT generations_count_current_month, usage_reset_at INTO v_count, v_window
    FROM users
   WHERE id = p_user_id
     AND clerk_user_id = NULLIF(current_setting('app.current_user_id', true), '')
   FOR UPDATE;
  IF NOT FOUND OR v_window <> p_charged_reset_at OR v_count <= 0 THEN
    RETURN false;
  END IF;
  SELECT count(*) INTO v_charged FROM generations
   WHERE user_id = p_user_id AND charged_reset_at = v_window;
  IF v_count - 1 < v_charged THEN
    RETURN false;  -- every unit left is a generation that is still charged
  END IF;
  UPDATE users SET generations_count_current_month = v_count - 1 WHERE id = p_user_id;
  RETURN true;
END
$$
"""

# A charge may be cleared only by failing a generation that had not delivered; a
# generation never goes back to pending; a delivered one never becomes failed.
GENERATION_GUARD = f"""
CREATE FUNCTION repurposeflow_guard_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_user <> '{APP_ROLE}' THEN
    RETURN NEW;
  END IF;
  IF NEW.status = 'pending' AND OLD.status <> 'pending'
     OR NEW.status = 'failed' AND OLD.status IN ('completed', 'partial')
     OR NEW.charged_reset_at IS DISTINCT FROM OLD.charged_reset_at
        AND NOT (NEW.charged_reset_at IS NULL AND NEW.status = 'failed')
     OR NEW.user_id <> OLD.user_id THEN
    RAISE EXCEPTION 'permission denied: the application role may not change the charge '
                    'or reopen generation %', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$
"""

SECURITY_DEFINERS = (
    "repurposeflow_reserve(uuid, timestamptz)",
    "repurposeflow_refund(uuid, timestamptz)",
)


def _own_as_system(function: str) -> None:
    """A SECURITY DEFINER function runs as its owner; owned by the system role it meets
    that role's explicit row-level security bypass (the owner that migrates may be
    neither a superuser nor exempt from FORCE ROW LEVEL SECURITY). Owning needs CREATE
    on the schema only at the moment of the change."""
    op.execute(
        f"""
        DO $$
        BEGIN
          EXECUTE format('GRANT CREATE ON SCHEMA %I TO {SYSTEM_ROLE}', current_schema());
          EXECUTE 'ALTER FUNCTION {function} OWNER TO {SYSTEM_ROLE}';
          EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM {SYSTEM_ROLE}', current_schema());
        END $$
        """
    )


def _postgresql_upgrade() -> None:
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    everything = ", ".join(USER_TABLES + SYSTEM_TABLES)

    # Privileges: start from nothing but reading, then give back what a person may do.
    op.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {everything} FROM {APP_ROLE}")
    op.execute(f"GRANT INSERT ON users, generations, usage_logs TO {APP_ROLE}")
    op.execute(f"GRANT UPDATE ({', '.join(APP_UPDATABLE_USER_COLUMNS)}) ON users TO {APP_ROLE}")
    op.execute(f"GRANT UPDATE ON generations TO {APP_ROLE}")

    op.execute("DROP POLICY users_own_insert ON users")
    op.execute(
        f"CREATE POLICY users_own_insert ON users FOR INSERT TO {APP_ROLE} "
        f"WITH CHECK ({FRESH_FREE_ACCOUNT})"
    )
    op.execute("DROP POLICY usage_logs_own_insert ON usage_logs")
    op.execute(
        f"CREATE POLICY usage_logs_own_insert ON usage_logs FOR INSERT TO {APP_ROLE} "
        f"WITH CHECK (user_id IN {OWN_USER_IDS}"
        f" AND (generation_id IS NULL OR generation_id IN {OWN_GENERATION_IDS}))"
    )
    for table in ("usage_logs", "subscriptions"):
        op.execute(f"DROP POLICY {table}_own_update ON {table}")
    op.execute("DROP POLICY subscriptions_own_insert ON subscriptions")

    op.execute(GENERATION_GUARD)
    op.execute(
        "CREATE TRIGGER trg_generations_guard BEFORE UPDATE ON generations "
        "FOR EACH ROW EXECUTE FUNCTION repurposeflow_guard_generation()"
    )

    op.execute(RESERVE.format(schema=schema))
    op.execute(REFUND.format(schema=schema))
    for function in SECURITY_DEFINERS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {APP_ROLE}")
        _own_as_system(function)

    # A web login is a member of the app role only. 0001 granted both roles to the
    # role that migrates (a trusted one); nobody else that can act as the app may also
    # act as the system.
    # Role memberships are cluster-wide rows: migrations of other databases on the same
    # server may change them at the same moment ("tuple concurrently updated"), so each
    # change is retried a few times.
    op.execute(
        f"""
        DO $$
        DECLARE
          r record;
          attempt integer;
        BEGIN
          FOR r IN
            SELECT m.rolname FROM pg_auth_members am
              JOIN pg_roles m ON m.oid = am.member
              JOIN pg_roles g ON g.oid = am.roleid
             WHERE g.rolname = '{SYSTEM_ROLE}'
               AND m.rolname <> current_user
               AND (m.rolname = '{APP_ROLE}' OR pg_has_role(m.oid, '{APP_ROLE}', 'MEMBER'))
          LOOP
            FOR attempt IN 1..20 LOOP
              BEGIN
                EXECUTE format('REVOKE {SYSTEM_ROLE} FROM %I', r.rolname);
                EXIT;
              EXCEPTION WHEN internal_error OR deadlock_detected THEN
                PERFORM pg_sleep(0.05 * attempt);
              END;
            END LOOP;
          END LOOP;
        EXCEPTION WHEN insufficient_privilege THEN
          RAISE WARNING 'could not revoke {SYSTEM_ROLE} from members of {APP_ROLE}: '
                        'an administrator must';
        END $$
        """
    )


def _postgresql_downgrade() -> None:
    for function in SECURITY_DEFINERS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.execute("DROP TRIGGER IF EXISTS trg_generations_guard ON generations")
    op.execute("DROP FUNCTION IF EXISTS repurposeflow_guard_generation()")

    own = {
        "users": f"clerk_user_id = {CURRENT_USER_ID}",
        "usage_logs": f"user_id IN {OWN_USER_IDS}",
        "subscriptions": f"user_id IN {OWN_USER_IDS}",
    }
    op.execute("DROP POLICY users_own_insert ON users")
    op.execute("DROP POLICY usage_logs_own_insert ON usage_logs")
    for table, predicate in own.items():
        op.execute(
            f"CREATE POLICY {table}_own_insert ON {table} FOR INSERT TO {APP_ROLE} "
            f"WITH CHECK ({predicate})"
        )
    for table in ("usage_logs", "subscriptions"):
        predicate = own[table]
        op.execute(
            f"CREATE POLICY {table}_own_update ON {table} FOR UPDATE TO {APP_ROLE} "
            f"USING ({predicate}) WITH CHECK ({predicate})"
        )
    everything = ", ".join(USER_TABLES + SYSTEM_TABLES)
    op.execute(f"REVOKE UPDATE ON users FROM {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {everything} TO {APP_ROLE}")
