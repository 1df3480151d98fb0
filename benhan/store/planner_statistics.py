"""PostgreSQL's planner statistics for benhan's own tables, kept fresh by the server itself.

Why: PostgreSQL picks its plans from ANALYZE's statistics, which autovacuum refreshes after a table
changed by ~10 %. A hub's tables grow by hundreds of thousands of rows an hour; where autovacuum is
off (a tuned or CI configuration), behind (busy workers) or never ran (a fresh hub), the planner
sees `reltuples = -1` and guesses: the hub benchmark at 200 nodes found the access gate's
"which patients do these resources name" statement (store/release.py, store/access.py) planned as a
parallel sequential scan of idx_reference, 3.4 million rows per pull page, and the sync rate falling
from ~950 to ~550 versions/s as the tables grew. The same statement with statistics is an index
lookup of a few rows.

What: `stale_tables` lists benhan's tables whose statistics are missing or older than a tenth of
their rows (autovacuum's own default rule, with a floor so small tables are left alone);
`refresh` ANALYZEs them. The server runs `refresh` every few minutes on PostgreSQL
(web/statistics_runner.py); where autovacuum keeps up, there is nothing to do. SQLite is left to its
own planner: its statements were written against its no-statistics plans (see the `res_type || ''`
hints) and an ANALYZE there would change plans that were measured."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy import text

from benhan.store.schema import metadata

log = logging.getLogger(__name__)

# Autovacuum's analyze rule (autovacuum_analyze_scale_factor 0.1) with a larger floor than its 50
# rows: a few hundred changed rows do not change a plan, and each ANALYZE reads up to 30,000 rows.
SCALE = 0.1
FLOOR = 1000

_STATE = text(
    "SELECT c.relname, c.reltuples, s.n_live_tup, s.n_mod_since_analyze "
    "FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid "
    "WHERE s.schemaname = current_schema() AND c.relname = ANY(:names)")


@dataclass(frozen=True)
class TableState:
    name: str
    estimated_rows: float          # pg_class.reltuples: -1 until the first ANALYZE or VACUUM
    live_rows: int                 # pg_stat_user_tables.n_live_tup: counted as rows are written
    changed_since_analyze: int

    @property
    def stale(self) -> bool:
        if self.estimated_rows < 0:
            return self.live_rows >= FLOOR
        return self.changed_since_analyze >= FLOOR + SCALE * self.estimated_rows


def table_states(conn) -> list[TableState]:  # noqa: ANN001 - a PostgreSQL connection
    names = sorted(metadata.tables)
    return [TableState(r[0], float(r[1]), int(r[2] or 0), int(r[3] or 0))
            for r in conn.execute(_STATE, {"names": names})]


def stale_tables(conn) -> list[str]:  # noqa: ANN001
    return [t.name for t in table_states(conn) if t.stale]


def refresh(engine) -> list[str]:  # noqa: ANN001 - a PostgreSQL engine
    """ANALYZE benhan's tables whose statistics are stale; the names analyzed. Each ANALYZE is its
    own transaction (it takes only a lock that lets reads and writes go on)."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        names = stale_tables(conn)
    done = []
    for name in names:
        started = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'ANALYZE "{name}"'))   # name: one of metadata's tables, not input
        done.append(name)
        log.info("planner statistics of %s refreshed in %.2f s", name, time.perf_counter() - started)
    return done


def autovacuum_on(conn) -> bool:  # noqa: ANN001
    return str(conn.execute(text("SHOW autovacuum")).scalar()).lower() == "on"
