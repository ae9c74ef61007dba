"""The SQL unit of work: one connection, one transaction at a time, every repository.

Access on PostgreSQL
--------------------
Every table has ``FORCE ROW LEVEL SECURITY``, so not even the owner that ran the
migrations sees a row by itself. The migrations create two ``NOLOGIN`` roles, and each
transaction switches to one of them with ``set_config('role', …, true)`` (the same as
``SET LOCAL ROLE``: it ends with the transaction, so nothing leaks across pooled
connections):

- ``repurposeflow_app`` — ``SqlUnitOfWork(engine, acting_as="user_…")``. The Clerk id
  goes in with ``set_config('app.current_user_id', :id, true)``; the policies on users,
  generations, usage_logs and subscriptions compare against
  ``(select NULLIF(current_setting('app.current_user_id', true), ''))``, so a person sees
  and changes their own rows only, and with no id set sees nothing (no error). The
  system tables (webhook_events, generations_archive, usage_daily) have no policy for
  this role: zero rows.
- ``repurposeflow_system`` — ``SqlUnitOfWork(engine)`` (``acting_as=None``): the trusted
  path of the CLI, webhooks and retention. It is not ``BYPASSRLS`` (only a superuser may
  grant that); instead every table has a ``FOR ALL TO repurposeflow_system USING (true)``
  policy, so the bypass is explicit, per table, and visible in ``pg_policies``.

The login role in the URL must be allowed to ``SET ROLE`` to the role it uses: the
migrations grant both to the role that ran them; grant ``repurposeflow_app`` alone to
a web process that must only ever act for signed-in users.

On SQLite (one person, one file) there is no row-level security; ``acting_as`` is
accepted and ignored, and every transaction is ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import sqlalchemy as sa

from repurposeflow.adapters.sql.engine import UNAVAILABLE_ERRORS, unavailable
from repurposeflow.adapters.sql.repositories import (
    SqlGenerationRepository,
    SqlMaintenanceRepository,
    SqlSubscriptionRepository,
    SqlUsageLogRepository,
    SqlUserRepository,
    SqlWebhookEventRepository,
)
from repurposeflow.domain.errors import InvalidInput, NotFound, NotPermitted, StoreUnavailable

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

APP_ROLE = "repurposeflow_app"
SYSTEM_ROLE = "repurposeflow_system"
USER_SETTING = "app.current_user_id"
_SET_ACCESS = (
    f"SELECT set_config('role', %(role)s, true), set_config('{USER_SETTING}', %(id)s, true)"
)

# insufficient_privilege: a row-level security WITH CHECK failed (writing a row of
# somebody else) or the role lacks a grant (a column of the plan, a billing table).
_RLS_REFUSED = "42501"


class SqlUnitOfWork:
    """``with uow: … uow.commit()``; leaving the block without commit rolls back.

    Reusable: each ``with`` opens a connection from the engine's pool and returns it.
    Not thread-safe: give each thread its own unit of work.
    """

    def __init__(self, engine: sa.Engine, *, acting_as: str | None = None) -> None:
        self.engine = engine
        self.acting_as = acting_as
        self._conn: sa.Connection | None = None
        self._is_pg = engine.dialect.name == "postgresql"

    def __call__(self) -> SqlUnitOfWork:
        """A fresh unit of work on the same engine and identity (a UnitOfWorkFactory)."""
        return SqlUnitOfWork(self.engine, acting_as=self.acting_as)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def acts_as_user(self) -> bool:
        """True when the row-level security of the app role applies (PostgreSQL with a
        person set): the quota then moves only through the SECURITY DEFINER functions."""
        return self._is_pg and self.acting_as is not None

    # --- lifecycle ------------------------------------------------------------------

    def __enter__(self) -> Self:
        if self._conn is not None:
            raise RuntimeError("this unit of work is already open; use a fresh one")
        try:
            self._conn = self.engine.connect()
        except UNAVAILABLE_ERRORS as exc:
            raise unavailable(self.engine, exc) from exc
        self.users = SqlUserRepository(self)
        self.generations = SqlGenerationRepository(self)
        self.usage = SqlUsageLogRepository(self)
        self.subscriptions = SqlSubscriptionRepository(self)
        self.webhooks = SqlWebhookEventRepository(self)
        self.maintenance = SqlMaintenanceRepository(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                conn.rollback()
        except UNAVAILABLE_ERRORS as error:
            if exc is None:
                raise unavailable(self.engine, error) from error
        finally:
            conn.close()

    def commit(self) -> None:
        conn = self._require()
        try:
            conn.commit()
        except UNAVAILABLE_ERRORS as exc:
            raise unavailable(self.engine, exc) from exc

    def rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction():
            try:
                self._conn.rollback()
            except UNAVAILABLE_ERRORS as exc:
                raise unavailable(self.engine, exc) from exc

    # --- what repositories use ----------------------------------------------------------

    def _require(self) -> sa.Connection:
        if self._conn is None:
            raise RuntimeError("use the unit of work inside a `with` block")
        return self._conn

    def _transaction(self) -> sa.Connection:
        """The open transaction, begun (and its role and user set) on first use."""
        conn = self._require()
        if conn.in_transaction():
            return conn
        try:
            conn.begin()  # on SQLite: BEGIN IMMEDIATE, which may time out on the lock
        except UNAVAILABLE_ERRORS as exc:
            raise unavailable(self.engine, exc) from exc
        if self._is_pg:
            role = APP_ROLE if self.acting_as is not None else SYSTEM_ROLE
            try:
                # Straight to the driver: once per transaction, and SQLAlchemy's
                # statement and result machinery cost more CPU than the round trip.
                conn.exec_driver_sql(_SET_ACCESS, {"role": role, "id": self.acting_as or ""})
            except sa.exc.DBAPIError as exc:
                conn.rollback()
                if isinstance(exc, UNAVAILABLE_ERRORS):
                    raise unavailable(self.engine, exc) from exc
                raise StoreUnavailable(
                    f"cannot act as role {role} (run the migrations, and grant {role} to the "
                    f"login role): {' '.join(str(exc.orig).split())}"
                ) from exc
        return conn

    def execute(
        self, statement: sa.Executable, params: Sequence[Mapping[str, Any]] | None = None
    ) -> CursorResult[*tuple[Any, ...]]:
        conn = self._transaction()
        try:
            if params:
                return conn.execute(statement, list(params) if len(params) > 1 else params[0])
            return conn.execute(statement)
        except UNAVAILABLE_ERRORS as exc:
            raise unavailable(self.engine, exc) from exc
        except sa.exc.DataError as exc:
            # The domain checks lengths first; this is the backstop, and never shows
            # the statement or its parameters.
            detail = (str(exc.orig).strip().splitlines() or ["invalid value"])[0]
            raise InvalidInput(f"A value does not fit the database: {detail}.") from exc
        except sa.exc.ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) == _RLS_REFUSED:
                if "row-level security" in str(exc.orig):
                    raise NotFound(
                        "That row belongs to another account, or this account may not write it."
                    ) from exc
                # A missing privilege (plan, quota, billing columns): never a person's.
                raise NotPermitted(
                    "This account may not make that change (plan, quota and billing "
                    "change only through billing or an administrator)."
                ) from exc
            raise

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        conn = self._transaction()
        # SAVEPOINT, RELEASE and ROLLBACK TO are statements too: a server that goes away
        # between them is StoreUnavailable (restart drill: AdminShutdown leaked here).
        try:
            with conn.begin_nested():
                yield
        except UNAVAILABLE_ERRORS as exc:
            raise unavailable(self.engine, exc) from exc
