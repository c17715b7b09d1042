"""The Snowflake emulator the tests build on: fakesnow's HTTP server with fixes.

fakesnow (PyPI `fakesnow[server]`) serves Snowflake's REST API on loopback and runs each
statement on DuckDB after translating it with sqlglot. Where the emulator answers
differently from what Snowflake documents for the SQL this package writes, the fix is
made here, in the emulator, never in the package's SQL (each fix names the documented
behaviour). Run by scripts/snowflake_emulator.sh in its own virtualenv
(requirements-snowflake-emulator.txt): fakesnow pins a DuckDB and a sqlglot of its own.

    python scripts/snowflake_emulator.py --port 8765
"""

from __future__ import annotations

import argparse
import contextvars
import gzip
import json
import logging
import re

import fakesnow.arrow as arrow
import fakesnow.cursor as cursor_module
import fakesnow.server as server
import fakesnow.transforms as transforms
import sqlglot
from fakesnow.variables import Variables
from sqlglot import exp
from sqlglot.generators.duckdb import DuckDBGenerator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

log = logging.getLogger("snowflake_emulator")


# --------------------------------------------------------------------------- SQL fixes
# Each replaces one of fakesnow's translation steps (fakesnow.cursor looks them up on
# fakesnow.transforms at every statement).

_create_database = transforms.create_database


def create_table_or_database(expression, db_path=None):
    """CREATE TEMPORARY TABLE db.schema.name (dbt-snowflake's staging tables): DuckDB keeps
    temporary tables in a catalog of their own, so the table is made as an ordinary one
    and dropped when the session ends, as Snowflake drops a temporary table (below)."""
    if isinstance(expression, exp.Create) and str(expression.args.get("kind")).upper() == "TABLE":
        properties = expression.args.get("properties")
        for prop in list(properties.expressions) if properties else []:
            if isinstance(prop, exp.TemporaryProperty):
                prop.pop()
        return expression
    return _create_database(expression, db_path=db_path)


def trim_cast_varchar(expression):
    """TRIM/LTRIM/RTRIM(text, characters) remove those characters (Snowflake's TRIM
    documentation); fakesnow's cast to VARCHAR rebuilt the call without them, so
    whitespace was trimmed instead. Keep the characters and the side."""
    if not isinstance(expression, exp.Trim):
        return expression
    operand = expression.this
    if isinstance(operand, exp.Cast) and operand.to.this in (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT):
        return expression
    fixed = expression.copy()
    fixed.set("this", exp.Cast(this=operand, to=exp.DataType.build("VARCHAR")))
    return fixed


def regex_pattern_as_written(step, kind):
    """REGEXP_REPLACE / REGEXP_SUBSTR: fakesnow halves the backslashes of a constant
    pattern, but sqlglot has already read the constant's escapes (Snowflake's string
    constant '[^"\\\\]' is the pattern [^"\\]), so a pattern with an escaped backslash
    reached DuckDB broken. Double them first, so fakesnow's halving gives them back."""

    def fixed(expression):
        if isinstance(expression, kind) and isinstance(expression.expression, exp.Literal):
            pattern = expression.expression
            expression.set("expression", exp.Literal(this=pattern.this.replace("\\", "\\\\"), is_string=True))
        return step(expression)

    return fixed


def try_strptime_without_reparse(original):
    """TRY_TO_TIMESTAMP_NTZ(text, format) becomes CAST(TRY_STRPTIME(...) AS TIMESTAMP) in
    DuckDB. sqlglot builds that cast by parsing the DuckDB text it has just written in its
    default dialect, which shifts an index inside it a second time (fakesnow writes
    REGEXP_SUBSTR as REGEXP_EXTRACT_ALL(...)[1], read back as the second match) and drops
    REGEXP_EXTRACT_ALL's arguments: a timestamp with a fraction lost it. Write the cast
    around the text instead."""

    def strtotime_sql(self, expression):
        target_type = expression.args.get("target_type")
        needs_tz = target_type is not None and target_type.this in (exp.DType.TIMESTAMPLTZ, exp.DType.TIMESTAMPTZ)
        if not expression.args.get("safe"):
            return original(self, expression)
        value, formatted_time = self._strptime_default_year(expression)
        return f"CAST({self.func('TRY_STRPTIME', value, formatted_time)} AS {'TIMESTAMPTZ' if needs_tz else 'TIMESTAMP'})"

    return strtotime_sql


def is_object(expression):
    """IS_OBJECT(variant) (Snowflake documents it; fakesnow has IS_ARRAY but not this)."""
    if isinstance(expression, exp.Anonymous) and expression.name.upper() == "IS_OBJECT":
        return exp.EQ(this=exp.Anonymous(this="JSON_TYPE", expressions=[get_member(e) for e in expression.expressions]),
                      expression=exp.Literal.string("OBJECT"))
    return expression


def json_member(document, key):
    """The value of `key` in a JSON object, the last one when the key repeats."""
    member = sqlglot.parse_one(
        "(SELECT fs_member.value FROM JSON_EACH(fs_document) AS fs_member "
        "WHERE fs_member.key = fs_key ORDER BY fs_member.id DESC LIMIT 1)", read="duckdb")
    for column in list(member.find_all(exp.Column)):
        if column.name == "fs_document":
            column.replace(document.copy())
        elif column.name == "fs_key":
            column.replace(key.copy())
    return member


def get_member(expression):
    """GET(object, key) takes the key as a name, whatever its characters (Snowflake's GET
    documentation), and TRY_PARSE_JSON(text, 'd') keeps the last of repeated keys.
    fakesnow wrote DuckDB's `object -> key`, which reads a key starting with `$` or `/` as
    a path and takes the first of repeated keys; and TO_VARCHAR(variant) of a JSON string
    is the string itself, where fakesnow cast the JSON text, quotes and escapes included."""
    if (isinstance(expression, exp.ToChar) and not expression.args.get("format")
            and isinstance(expression.this, exp.GetExtract)):
        value = json_member(expression.this.this, expression.this.expression)
        return exp.Anonymous(this="JSON_EXTRACT_STRING", expressions=[value, exp.Literal.string("$")])
    if isinstance(expression, exp.GetExtract):
        return json_member(expression.this, expression.expression)
    return expression


def before(step, fix):
    """`step` with `fix` applied to each node first (fakesnow's steps visit every node)."""

    def fixed(expression, *args, **kwargs):
        return step(fix(expression), *args, **kwargs)

    return fixed


# IS_OBJECT, GET and TO_VARCHAR of GET ride on the array_size step's pass over the tree.
transforms.array_size = before(before(transforms.array_size, is_object), get_member)
DuckDBGenerator.strtotime_sql = try_strptime_without_reparse(DuckDBGenerator.strtotime_sql)
transforms.regex_replace = regex_pattern_as_written(transforms.regex_replace, exp.RegexpReplace)
transforms.regex_substr = regex_pattern_as_written(transforms.regex_substr, exp.RegexpExtract)
transforms.create_database = create_table_or_database
transforms.trim_cast_varchar = trim_cast_varchar


STRING_CONSTANT = re.compile(r"'(?:[^'\\]|\\.|'')*'", re.DOTALL)
_inline_variables = Variables.inline_variables


def inline_variables(self, sql):
    """Session variables ($name) are read outside string constants only: fakesnow also
    read `'$browser'` (a Mixpanel property name) as an unset variable and failed."""
    parts, last = [], 0
    for constant in STRING_CONSTANT.finditer(sql):
        parts.append(_inline_variables(self, sql[last:constant.start()]))
        parts.append(constant.group())
        last = constant.end()
    parts.append(_inline_variables(self, sql[last:]))
    return "".join(parts)


Variables.inline_variables = inline_variables


# --------------------------------------------------------------------------- speed
# The server parses each statement (for its statement type) and the cursor that runs it
# parses it again; dbt's statements are long (a model's whole SQL), and parsing is most
# of the emulator's time. The cursor takes the server's tree instead.

_parse_one = server.parse_one
parsed_by_server: dict[str, object] = {}
hand_over_parse = contextvars.ContextVar("hand_over_parse", default=False)


def server_parse_one(text, *args, **kwargs):
    tree = _parse_one(text, *args, **kwargs)
    if hand_over_parse.get() and not args and not kwargs:
        if len(parsed_by_server) > 64:  # trees of statements that never reached a cursor
            parsed_by_server.clear()
        parsed_by_server[text] = tree
    return tree


def cursor_parse_one(text, *args, **kwargs):
    tree = parsed_by_server.pop(text, None) if not args and not kwargs else None
    return tree if tree is not None else _parse_one(text, *args, **kwargs)


server.parse_one = server_parse_one
cursor_module.parse_one = cursor_parse_one


# --------------------------------------------------------------------------- answers


def timestamps_with_nulls(original):
    """A null TIMESTAMP_NTZ reached the client as 1970-01-01 00:00:00: fakesnow writes
    Snowflake's (epoch, fraction) struct for timestamps without marking the null rows.
    Mark them, as Snowflake does."""
    import pyarrow as pa

    def timestamp_to_sf_struct(ts):
        if isinstance(ts, pa.ChunkedArray):
            ts = ts.combine_chunks()
        struct = original(ts)
        if not ts.null_count:
            return struct
        children = [struct.field(i).fill_null(0) for i in range(struct.type.num_fields)]
        fields = [struct.type.field(i) for i in range(struct.type.num_fields)]
        return pa.StructArray.from_arrays(children, fields=fields, mask=ts.is_null())

    return timestamp_to_sf_struct


arrow.timestamp_to_sf_struct = timestamps_with_nulls(arrow.timestamp_to_sf_struct)


def snowflake_error(answer):
    """fakesnow's message for a missing table is DuckDB's; Snowflake's says "does not
    exist or not authorized", which dbt-snowflake reads (get_columns_in_relation of a
    relation that is not there, e.g. an ephemeral model in a unit test, answers no columns)."""
    message = answer.get("message") or ""
    missing = re.search(r"Catalog Error: Table with name (\S+) does not exist!", message)
    if answer.get("code") == "002003" and missing:
        answer["message"] = f"SQL compilation error:\nObject '{missing.group(1)}' does not exist or not authorized."
        return JSONResponse(answer)
    return None


TEMPORARY_TABLE = re.compile(
    r"^\s*create\s+(?:or\s+replace\s+)?(?:local\s+|global\s+)?temp(?:orary)?\s+table\s+(?:if\s+not\s+exists\s+)?"
    r"([\w$.\"]+)", re.IGNORECASE)
temporary_tables: dict[str, set[str]] = {}  # session token -> tables made as temporary


async def session_request(request):
    """At the end of a session, drop the tables it made as temporary."""
    if request.query_params.get("delete"):
        token = server.to_token(request) if "Authorization" in request.headers else None
        conn = server.sessions.get(token) if token else None
        for name in sorted(temporary_tables.pop(token, ())) if conn else ():
            cursor = conn.cursor()
            try:
                cursor.execute(f"drop table if exists {name}")
            except Exception as error:  # the table may be gone with its schema or database
                log.info("temporary table %s not dropped: %s", name, error)
    return await server.session(request)


DROP_DATABASE = re.compile(r"^\s*drop\s+database\s+(?:if\s+exists\s+)?\"?([\w$]+)", re.IGNORECASE)


async def drop_database(request, body):
    """DROP DATABASE (Snowflake documents it; fakesnow has only CREATE, as DuckDB's
    ATTACH): DETACH it, stepping out of it first when it is the session's current one
    (Snowflake drops it and leaves the session without one; DuckDB refuses to detach its
    default catalog). Answered as Snowflake answers."""
    dropped = DROP_DATABASE.match(body.get("sqlText", ""))
    conn = server.sessions.get(server.to_token(request)) if dropped else None
    if conn is None:
        return None
    name = dropped.group(1).upper()
    if conn.database and conn.database.upper() == name:
        conn._duck_conn.execute("USE memory")
        conn.database, conn.database_set, conn.schema_set = None, False, False
    conn._duck_conn.execute(f'DETACH DATABASE IF EXISTS "{name}"')
    answer = f"select '{name} successfully dropped.' as \"status\""
    return await server.query_request(with_statement(request, body, answer))


def with_statement(request, body, text):
    """The same request with another statement."""
    data = json.dumps(dict(body, sqlText=text)).encode()
    headers = [(k, v) for k, v in request.scope["headers"] if k.lower() != b"content-encoding"]

    async def receive():
        return {"type": "http.request", "body": data, "more_body": False}

    return Request(dict(request.scope, headers=headers), receive)


async def query_request(request):
    """fakesnow's statement endpoint with the fixes above and below. A failed statement
    is logged with its first lines. fakesnow answers a statement it cannot run with
    HTTP 500, which the Snowflake connector retries for minutes; Snowflake answers a
    statement that fails with an error the client raises at once: answer so, with
    fakesnow's message."""
    body = await statement_body(request)
    text = body.get("sqlText", "")
    # not for describe-only requests, whose tree the server keeps using
    hand_over_parse.set(not body.get("describeOnly") and not body.get("bindings"))
    response = await drop_database(request, body) or await server.query_request(request)
    answer = json.loads(response.body)
    if answer.get("success", True):
        made = TEMPORARY_TABLE.match(text)
        if made:
            temporary_tables.setdefault(server.to_token(request), set()).add(made.group(1))
        return response
    log.warning("failed: %s\n%s", (answer.get("message") or "")[-2000:], text[:300])
    if response.status_code != 500:
        return snowflake_error(answer) or response
    message = f"SQL execution error (Snowflake emulator): {answer.get('message')}"
    return JSONResponse({"data": {"errorCode": "000603", "sqlState": "XX000"}, "code": "000603",
                         "message": message, "success": False})


async def statement_body(request):
    body = await request.body()
    if request.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return json.loads(body)


def app():
    replaced = {server.query_request: query_request, server.session: session_request}
    routes = [Route(route.path, replaced[route.endpoint], methods=list(route.methods - {"HEAD"}))
              if route.endpoint in replaced else route for route in server.routes]
    return Starlette(routes=routes)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # a line per statement otherwise

    uvicorn.run(app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
