"""Engine, sessions and the unit of work. Built from settings at start-up, never at import time."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, create_engine, event, insert
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from kamflow import figures
from kamflow.settings import Settings, get_settings, private_file

_engines: dict[str, Engine] = {}
event.listen(Session, "after_flush", figures.after_flush)  # every session keeps the ledger's running figures


def _json(value: Any) -> str:
    """JSON columns' serializer: orjson, several times faster than the standard library on the nightly review's
    bulk writes (keys that are not strings are written as strings, as `json.dumps` does)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def get_engine(settings: Settings | None = None) -> Engine:
    """One engine per database URL per process."""
    url = (settings or get_settings()).db_url
    if url not in _engines:
        if url.startswith("sqlite:///"):
            private_file(Path(url.removeprefix("sqlite:///")))  # SQLite gives its -wal and -shm files its mode
            engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=_json)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, json_serializer=_json)
        _engines[url] = engine
    return _engines[url]


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


@contextmanager
def unit_of_work(settings: Settings | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    factory = sessionmaker(get_engine(settings), expire_on_commit=False)
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_many(connection: Connection, model: type[DeclarativeBase], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows that all have the keys of the first in one executemany, each value converted by its column's
    own type as SQLAlchemy would. SQLAlchemy's executemany also builds a parameter set per row from the compiled
    statement, which bulk writes of 100,000 rows (the nightly review) feel; this builds none.
    Python-side column defaults are not applied: a row gives every column that has one (KeyError otherwise)."""
    if not rows:
        return
    table: Table = model.__table__  # type: ignore[assignment]
    dialect = connection.dialect
    # for_executemany: no RETURNING of the new id (PostgreSQL adds one to a single-row insert)
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]), for_executemany=True)
    names = compiled.positiontup or list(compiled.binds)  # in the order the statement takes them
    convert = [(name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names]
    columns = [map(itemgetter(k), rows) if p is None else map(p, map(itemgetter(k), rows)) for k, p in convert]
    params: list[Any] = list(zip(*columns, strict=True))  # column by column: the loops over rows run in C
    if not compiled.positional:
        params = [dict(zip(names, values, strict=True)) for values in params]
    connection.exec_driver_sql(str(compiled), params)
