//! The statement builders: values bound to `$N`, rows read into records.

use std::borrow::Cow;
use std::marker::PhantomData;

use rusqlite::types::{FromSql, ToSqlOutput, Value};
use rusqlite::{Connection, Row as RawRow, Statement};

use super::{error, Exec};

/// A value a statement takes (or several: a set of rows binds one per column of each row).
pub(crate) trait Arg {
    fn push_to(&self, args: &mut Vec<Value>);
}

impl<T: Arg + ?Sized> Arg for &T {
    fn push_to(&self, args: &mut Vec<Value>) {
        (**self).push_to(args)
    }
}

impl<T: Arg> Arg for Option<T> {
    fn push_to(&self, args: &mut Vec<Value>) {
        match self {
            Some(value) => value.push_to(args),
            None => args.push(Value::Null),
        }
    }
}

macro_rules! single {
    ($($ty:ty => |$v:ident| $value:expr),+ $(,)?) => {
        $(impl Arg for $ty {
            fn push_to(&self, args: &mut Vec<Value>) {
                let $v = self;
                args.push($value);
            }
        })+
    };
}

single! {
    str => |v| Value::Text(v.to_owned()),
    String => |v| Value::Text(v.clone()),
    i64 => |v| Value::Integer(*v),
    i32 => |v| Value::Integer(i64::from(*v)),
    bool => |v| Value::Integer(i64::from(*v)),
    [u8] => |v| Value::Blob(v.to_vec()),
    Vec<u8> => |v| Value::Blob(v.clone()),
    serde_json::Value => |v| Value::Text(v.to_string()),
}

/// A statement and its values, as `query(sql)` starts it.
pub(crate) struct Query<'q> {
    sql: &'q str,
    args: Vec<Value>,
}

pub(crate) fn query<'q>(sql: &'q str) -> Query<'q> {
    Query { sql, args: Vec::new() }
}

pub(crate) fn query_as<'q, O: FromLite>(sql: &'q str) -> QueryAs<'q, O> {
    QueryAs {
        query: query(sql),
        row: PhantomData,
    }
}

pub(crate) fn query_scalar<'q, O: FromSql>(sql: &'q str) -> QueryScalar<'q, O> {
    QueryScalar {
        query: query(sql),
        value: PhantomData,
    }
}

/// What a statement that returns no rows did.
pub(crate) struct Done(u64);

impl Done {
    pub(crate) fn rows_affected(&self) -> u64 {
        self.0
    }
}

impl<'q> Query<'q> {
    /// The next `$N`'s value.
    pub(crate) fn bind(mut self, value: impl Arg) -> Self {
        value.push_to(&mut self.args);
        self
    }

    pub(crate) async fn execute(self, on: impl Exec) -> Result<Done, sqlx::Error> {
        on.with(|conn| {
            let mut statement = self.prepare(conn)?;
            statement.raw_execute()
        })
        .map(|n| Done(n as u64))
        .map_err(error)
    }

    fn prepare<'c>(&self, conn: &'c Connection) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
        let mut statement = conn.prepare_cached(&numbered(self.sql))?;
        bind_all(&mut statement, &self.args)?;
        Ok(statement)
    }

    /// The first `at_most` rows, each read with `read`, which is given the statement's
    /// column names when `named` (taken once per statement, not once per row and field).
    fn rows<O>(
        self,
        on: impl Exec,
        at_most: usize,
        named: bool,
        read: impl Fn(&RawRow, &[String]) -> Result<O, sqlx::Error>,
    ) -> Result<Vec<O>, sqlx::Error> {
        let mut failed = None;
        let rows = on
            .with(|conn| {
                let mut statement = self.prepare(conn)?;
                let names: Vec<String> = match named {
                    true => statement.column_names().into_iter().map(str::to_owned).collect(),
                    false => Vec::new(),
                };
                let mut rows = statement.raw_query();
                let mut out = Vec::new();
                while out.len() < at_most {
                    let Some(row) = rows.next()? else { break };
                    match read(row, &names) {
                        Ok(value) => out.push(value),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                Ok(out)
            })
            .map_err(error)?;
        match failed {
            Some(e) => Err(e),
            None => Ok(rows),
        }
    }
}

/// The statement with each `$N` written `?N`, which SQLite numbers `N` itself (a `$N` it
/// numbers by its first appearance, and finding which is which costs a scan of every
/// parameter's name for each). Quoted text is left as it is.
fn numbered(sql: &str) -> Cow<'_, str> {
    let bytes = sql.as_bytes();
    let dollar_digit = |i: usize| bytes[i] == b'$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
    if !(0..bytes.len()).any(dollar_digit) {
        return Cow::Borrowed(sql);
    }
    // Byte by byte (a `$` or a quote is never part of a longer UTF-8 character), copying
    // the text between parameters whole: this runs for every statement executed.
    let mut out = String::with_capacity(sql.len());
    let (mut quote, mut copied) = (None, 0);
    for (i, &b) in bytes.iter().enumerate() {
        match (quote, b) {
            (None, b'\'' | b'"') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            (None, b'$') if dollar_digit(i) => {
                out.push_str(&sql[copied..i]);
                out.push('?');
                copied = i + 1;
            }
            _ => {}
        }
    }
    out.push_str(&sql[copied..]);
    Cow::Owned(out)
}

/// Bind `?N` to `args[N - 1]`, and a plain `?` to the next value.
fn bind_all(statement: &mut Statement<'_>, args: &[Value]) -> rusqlite::Result<()> {
    for index in 1..=statement.parameter_count() {
        let value = args
            .get(index - 1)
            .ok_or(rusqlite::Error::InvalidParameterCount(index, args.len()))?;
        statement.raw_bind_parameter(index, ToSqlOutput::Borrowed(value.into()))?;
    }
    Ok(())
}

/// A statement whose rows are read as `O`.
pub(crate) struct QueryAs<'q, O> {
    query: Query<'q>,
    row: PhantomData<fn() -> O>,
}

/// A statement whose rows' first column is read as `O`.
pub(crate) struct QueryScalar<'q, O> {
    query: Query<'q>,
    value: PhantomData<fn() -> O>,
}

macro_rules! fetchers {
    ($builder:ident, $bound:ident, $named:expr, |$row:ident, $names:ident| $read:expr) => {
        impl<'q, O: $bound> $builder<'q, O> {
            pub(crate) fn bind(self, value: impl Arg) -> Self {
                Self {
                    query: self.query.bind(value),
                    ..self
                }
            }

            pub(crate) async fn fetch_all(self, on: impl Exec) -> Result<Vec<O>, sqlx::Error> {
                self.query.rows(on, usize::MAX, $named, |$row, $names| $read)
            }

            pub(crate) async fn fetch_optional(self, on: impl Exec) -> Result<Option<O>, sqlx::Error> {
                Ok(self.query.rows(on, 1, $named, |$row, $names| $read)?.pop())
            }

            pub(crate) async fn fetch_one(self, on: impl Exec) -> Result<O, sqlx::Error> {
                self.fetch_optional(on).await?.ok_or(sqlx::Error::RowNotFound)
            }
        }
    };
}

impl<O> QueryAs<'_, O> {
    /// Every statement is prepared once per connection and kept: SQLite plans it afresh
    /// each run, so a kept statement never holds a stale plan.
    pub(crate) fn persistent(self, _: bool) -> Self {
        self
    }
}

fetchers!(QueryAs, FromLite, true, |row, names| O::from_lite(&LiteRow {
    row,
    names
}));
fetchers!(QueryScalar, FromSql, false, |row, _names| row
    .get(0)
    .map_err(decode_error));

/// A row as a record's reading body sees it: `try_get` by column name or position.
pub(crate) struct LiteRow<'r, 's> {
    row: &'r RawRow<'s>,
    /// The statement's column names, in order.
    names: &'r [String],
}

impl LiteRow<'_, '_> {
    pub(crate) fn try_get<T: FromSql, I: LiteIndex>(&self, index: I) -> Result<T, sqlx::Error> {
        let at = index
            .position(self.names)
            .ok_or_else(|| sqlx::Error::ColumnNotFound(index.describe()))?;
        self.row.get(at).map_err(decode_error)
    }
}

/// How a record names a column: by position, or by name (as SQLite does, an exact match
/// first, then one that differs only in case).
pub(crate) trait LiteIndex {
    fn position(&self, names: &[String]) -> Option<usize>;
    fn describe(&self) -> String;
}

impl LiteIndex for usize {
    fn position(&self, _: &[String]) -> Option<usize> {
        Some(*self)
    }

    fn describe(&self) -> String {
        self.to_string()
    }
}

impl LiteIndex for &str {
    fn position(&self, names: &[String]) -> Option<usize> {
        names
            .iter()
            .position(|n| n == self)
            .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(self)))
    }

    fn describe(&self) -> String {
        (*self).to_owned()
    }
}

/// A type a SQLite row reads into.
pub(crate) trait FromLite: Sized {
    fn from_lite(row: &LiteRow<'_, '_>) -> Result<Self, sqlx::Error>;
}

macro_rules! tuples {
    ($($name:ident $index:tt),+) => {
        impl<$($name: FromSql),+> FromLite for ($($name,)+) {
            fn from_lite(row: &LiteRow<'_, '_>) -> Result<Self, sqlx::Error> {
                Ok(($(row.try_get($index)?,)+))
            }
        }
    };
}

tuples!(A 0);
tuples!(A 0, B 1);
tuples!(A 0, B 1, C 2);
tuples!(A 0, B 1, C 2, D 3);
tuples!(A 0, B 1, C 2, D 3, E 4);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// `FromLite` for a record whose fields are read from the columns of the same names.
macro_rules! lite_record {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        impl $crate::store::lite::FromLite for $ty {
            fn from_lite(row: &$crate::store::lite::LiteRow<'_, '_>) -> Result<Self, sqlx::Error> {
                Ok(Self { $($field: row.try_get(stringify!($field))?),+ })
            }
        }
    };
}
pub(crate) use lite_record;

pub(super) fn decode_error(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::InvalidColumnName(name) => sqlx::Error::ColumnNotFound(name),
        rusqlite::Error::InvalidColumnIndex(index) => sqlx::Error::ColumnIndexOutOfBounds { index, len: 0 },
        other => sqlx::Error::Decode(Box::new(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_are_written_for_sqlite_outside_quotes() {
        assert_eq!(
            numbered("select $1, '$2', \"$3\", $10 from t where a = $2 and b ->> '$.x'"),
            "select ?1, '$2', \"$3\", ?10 from t where a = ?2 and b ->> '$.x'"
        );
        assert!(matches!(numbered("select '$.a', ?"), Cow::Borrowed(_)));
        assert_eq!(
            numbered("select 'é$1 ünï', $2 || 'ß' from t where a = $12"),
            "select 'é$1 ünï', ?2 || 'ß' from t where a = ?12"
        );
    }
}
