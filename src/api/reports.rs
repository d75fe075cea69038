//! The team's reports: response times and satisfaction, as JSON or (with
//! `Accept: text/csv`) as CSV, for `?from=&to=` (dates or RFC 3339 times; the last 30
//! days when left out).

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ApiQuery, Result};
use crate::desk::reports::{self, Rated, TicketTimes};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct Period {
    from: Option<String>,
    to: Option<String>,
}

const DAY_MS: i64 = 86_400_000;

/// A moment as the query gives it: `2026-12-01` (midnight UTC) or an RFC 3339 time.
fn moment(name: &str, text: &str) -> Result<i64> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_millis());
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| ApiError::BadRequest(format!("{name} must be a date (2026-12-01) or an RFC 3339 time")))
}

impl Period {
    fn bounds(&self, now: i64) -> Result<(i64, i64)> {
        let to = self
            .to
            .as_deref()
            .map(|t| moment("to", t))
            .transpose()?
            .unwrap_or(now + 1);
        let from = self
            .from
            .as_deref()
            .map(|f| moment("from", f))
            .transpose()?
            .unwrap_or(to - 30 * DAY_MS);
        if from >= to {
            return Err(ApiError::BadRequest("from must be before to".into()));
        }
        Ok((from, to))
    }
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"))
}

/// A report as CSV when asked for it, else as JSON with its period.
fn answer<T: serde::Serialize>(
    headers: &HeaderMap,
    (from, to): (i64, i64),
    report: &T,
    csv: fn(&T) -> String,
) -> Response {
    if wants_csv(headers) {
        return ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv(report)).into_response();
    }
    let mut body = json!(report);
    body["from"] = iso(from).into();
    body["to"] = iso(to).into();
    Json(body).into_response()
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

pub(super) async fn response_times(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(period): ApiQuery<Period>,
) -> Result<Response> {
    let (from, to) = period.bounds(state.store.now_ms())?;
    let tickets: Vec<TicketTimes> = state
        .store
        .response_rows(from, to)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let report = reports::response_times(&tickets);
    Ok(answer(&headers, (from, to), &report, reports::response_times_csv))
}

pub(super) async fn satisfaction(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(period): ApiQuery<Period>,
) -> Result<Response> {
    let (from, to) = period.bounds(state.store.now_ms())?;
    let rated: Vec<Rated> = state
        .store
        .rating_rows(from, to)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let report = reports::satisfaction(&rated);
    Ok(answer(&headers, (from, to), &report, reports::satisfaction_csv))
}
