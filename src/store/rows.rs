//! Rows that a set-at-a-time statement reads as a table.
//!
//! On PostgreSQL the rows travel as one JSON parameter that `json_to_recordset` turns into
//! a table: one round trip, whatever their number. On SQLite a statement runs in process
//! and a round trip costs nothing, but JSON does: `json_each` renders each row's object as
//! text again for every column read from it, and each column parses that text back. So
//! there the values are bound themselves, as a `values` list, at most [`CHUNK`] rows to a
//! statement, in chunks of a few sizes only, so that the statement cache keeps each.

use std::fmt::Write;

use rusqlite::types::Value;
use serde::Serialize;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo};
use sqlx::Postgres;

use super::bulk::Dialect;
use super::lite::Arg;
use super::{Result, StoreError};

/// The most rows one SQLite statement binds; smaller chunks are halves of it.
const CHUNK: usize = 32;

/// Columns, each with its PostgreSQL type.
pub(crate) type Columns = &'static [(&'static str, &'static str)];

/// The rows of one statement.
pub(crate) struct Chunk {
    columns: Columns,
    rows: usize,
    payload: Payload,
}

enum Payload {
    /// PostgreSQL: the rows as a JSON array of objects.
    Json(String),
    /// SQLite: each row's values, column by column.
    Values(Vec<Value>),
}

/// `rows` split into the statements that carry them: one on PostgreSQL; on SQLite chunks
/// of [`CHUNK`] rows, then of halves of it for the rest. Each row's fields are read by the
/// columns' names.
pub(crate) fn chunks<T: Serialize>(dialect: Dialect, columns: Columns, rows: &[T]) -> Result<Vec<Chunk>> {
    let invalid = |e: String| StoreError::Other(format!("rows to store: {e}"));
    if let Dialect::Postgres = dialect {
        let json = serde_json::to_string(rows).map_err(|e| invalid(e.to_string()))?;
        return Ok(vec![Chunk {
            columns,
            rows: rows.len(),
            payload: Payload::Json(json),
        }]);
    }
    let mut chunks = Vec::new();
    let mut rest = rows;
    while !rest.is_empty() {
        let size = if rest.len() >= CHUNK {
            CHUNK
        } else {
            1 << rest.len().ilog2()
        };
        let (these, later) = rest.split_at(size);
        let mut values = Vec::with_capacity(size * columns.len());
        for row in these {
            let serde_json::Value::Object(mut fields) =
                serde_json::to_value(row).map_err(|e| invalid(e.to_string()))?
            else {
                return Err(invalid("a row is not an object".into()));
            };
            for (name, _) in columns {
                values.push(match fields.remove(*name) {
                    None | Some(serde_json::Value::Null) => Value::Null,
                    Some(serde_json::Value::Bool(b)) => Value::Integer(i64::from(b)),
                    Some(serde_json::Value::Number(n)) => match n.as_i64() {
                        Some(i) => Value::Integer(i),
                        None => Value::Real(n.as_f64().unwrap_or_default()),
                    },
                    Some(serde_json::Value::String(s)) => Value::Text(s),
                    Some(other) => Value::Text(other.to_string()),
                });
            }
        }
        chunks.push(Chunk {
            columns,
            rows: size,
            payload: Payload::Values(values),
        });
        rest = later;
    }
    Ok(chunks)
}

impl Chunk {
    /// `select <columns> from <these rows>`, the rows bound from parameter `$first` on.
    pub(crate) fn select(&self, first: usize) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(c, _)| *c).collect();
        match self.payload {
            Payload::Json(_) => {
                let typed: Vec<String> = self.columns.iter().map(|(c, t)| format!("{c} {t}")).collect();
                format!(
                    "select {} from json_to_recordset(${first}::json) as x({})",
                    names.join(", "),
                    typed.join(", ")
                )
            }
            Payload::Values(_) => {
                // Written `?N`, as SQLite numbers them (see `lite::numbered`).
                let width = self.columns.len();
                let mut sql = String::with_capacity(64 + width * (16 + self.rows * 8));
                sql.push_str("select ");
                for (i, c) in names.iter().enumerate() {
                    let comma = if i > 0 { ", " } else { "" };
                    let _ = write!(sql, "{comma}column{} as {c}", i + 1);
                }
                sql.push_str(" from (values ");
                for row in 0..self.rows {
                    sql.push_str(if row > 0 { ", (" } else { "(" });
                    for c in 0..width {
                        let comma = if c > 0 { ", " } else { "" };
                        let _ = write!(sql, "{comma}?{}", first + row * width + c);
                    }
                    sql.push(')');
                }
                sql.push(')');
                sql
            }
        }
    }
}

impl Arg for Chunk {
    fn push_to(&self, args: &mut Vec<Value>) {
        match &self.payload {
            Payload::Values(values) => args.extend(values.iter().cloned()),
            // Not bound on SQLite: `chunks` made it for PostgreSQL.
            Payload::Json(json) => args.push(Value::Text(json.clone())),
        }
    }
}

impl sqlx::Type<Postgres> for Chunk {
    fn type_info() -> PgTypeInfo {
        <String as sqlx::Type<Postgres>>::type_info()
    }
}

impl sqlx::Encode<'_, Postgres> for Chunk {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> std::result::Result<IsNull, BoxDynError> {
        match &self.payload {
            Payload::Json(json) => <String as sqlx::Encode<'_, Postgres>>::encode_by_ref(json, buf),
            Payload::Values(_) => Err("rows chunked for SQLite bound on PostgreSQL".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        a: String,
        b: Option<i64>,
        c: bool,
    }

    const COLUMNS: Columns = &[("a", "text"), ("b", "bigint"), ("c", "boolean")];

    /// 45 rows (32 + 8 + 4 + 1), with NUL bytes, nulls and both booleans.
    fn many() -> Vec<Row> {
        (0..45)
            .map(|i| Row {
                a: format!("a\0{i}"),
                b: (i % 2 == 0).then_some(i),
                c: i == 3,
            })
            .collect()
    }

    #[test]
    fn sqlite_rows_come_in_a_few_chunk_sizes_with_their_values_in_order() {
        let rows = many();
        let chunks = chunks(Dialect::Sqlite, COLUMNS, &rows).unwrap();
        let sizes: Vec<usize> = chunks.iter().map(|c| c.rows).collect();
        assert_eq!(sizes, [32, 8, 4, 1]);
        let mut args = Vec::new();
        chunks[0].push_to(&mut args);
        assert_eq!(args.len(), 96);
        assert_eq!(args[0], Value::Text("a\u{0}0".into()));
        assert_eq!(args[1], Value::Integer(0));
        assert_eq!(args[4], Value::Null);
        assert_eq!(args[11], Value::Integer(1));
        assert_eq!(
            chunks[3].select(3),
            "select column1 as a, column2 as b, column3 as c from (values (?3, ?4, ?5))"
        );
        assert!(chunks[1].select(2).ends_with("(?23, ?24, ?25))"));
    }

    #[test]
    fn postgres_rows_travel_as_one_json_parameter() {
        let rows = [Row {
            a: "x".into(),
            b: None,
            c: true,
        }];
        let chunks = chunks(Dialect::Postgres, COLUMNS, &rows).unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(
            chunks[0].select(1),
            "select a, b, c from json_to_recordset($1::json) as x(a text, b bigint, c boolean)"
        );
    }

    #[tokio::test]
    async fn sqlite_stores_every_chunk_as_given() {
        use crate::store::lite::{query, query_as, Lite};
        let lite = Lite::open(":memory:").unwrap();
        let mut tx = lite.begin().await.unwrap();
        query("create table t (a text, b integer, c integer, at integer)")
            .execute(tx.conn())
            .await
            .unwrap();
        let rows = many();
        for chunk in chunks(Dialect::Sqlite, COLUMNS, &rows).unwrap() {
            let sql = format!("insert into t select a, b, c, $1 from ({})", chunk.select(2));
            query(&sql).bind(7_i64).bind(&chunk).execute(tx.conn()).await.unwrap();
        }
        let stored: Vec<(String, Option<i64>, bool, i64)> = query_as("select a, b, c, at from t order by rowid")
            .fetch_all(tx.conn())
            .await
            .unwrap();
        let expected: Vec<_> = rows.iter().map(|r| (r.a.clone(), r.b, r.c, 7)).collect();
        assert_eq!(stored, expected);
    }
}
