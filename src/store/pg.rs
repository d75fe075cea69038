//! `sqlx`'s statement builders for PostgreSQL, named as [`super::lite`]'s are, so that
//! a statement written once runs on either database (`on_tx!` and `on_pool!` bring one
//! set or the other into scope).

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::Postgres;

pub(crate) fn query(sql: &str) -> sqlx::query::Query<'_, Postgres, PgArguments> {
    sqlx::query(sql)
}

pub(crate) fn query_as<'q, O: for<'r> sqlx::FromRow<'r, PgRow>>(
    sql: &'q str,
) -> sqlx::query::QueryAs<'q, Postgres, O, PgArguments> {
    sqlx::query_as(sql)
}

pub(crate) fn query_scalar<'q, O>(sql: &'q str) -> sqlx::query::QueryScalar<'q, Postgres, O, PgArguments>
where
    (O,): for<'r> sqlx::FromRow<'r, PgRow>,
{
    sqlx::query_scalar(sql)
}
