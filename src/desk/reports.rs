//! How the team is doing: first response and resolution times (median and 90th
//! percentile, by nearest rank), and satisfaction (count, average, distribution), overall
//! and per project, department, agent and ISO week.

use std::collections::BTreeMap;

use serde::Serialize;

/// A ticket's times, as the response-time report needs them (unix ms).
#[derive(Debug, Clone)]
pub struct TicketTimes {
    pub project: String,
    pub department: Option<String>,
    pub agent: Option<String>,
    pub created_at: i64,
    /// The first public comment by an agent.
    pub first_response_at: Option<i64>,
    /// The first move to a done status.
    pub first_resolved_at: Option<i64>,
}

/// An answered survey.
#[derive(Debug, Clone)]
pub struct Rated {
    pub project: String,
    pub department: Option<String>,
    pub agent: Option<String>,
    pub at: i64,
    pub rating: i64,
}

/// Durations of one group, in minutes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Durations {
    pub count: usize,
    pub median_minutes: Option<f64>,
    pub p90_minutes: Option<f64>,
}

/// Ratings of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ratings {
    pub count: usize,
    pub average: Option<f64>,
    /// How many gave 1, 2, 3, 4 and 5.
    pub distribution: [usize; 5],
}

/// One report's figures: overall, and per group key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grouped<T> {
    pub overall: T,
    pub by_project: BTreeMap<String, T>,
    pub by_department: BTreeMap<String, T>,
    pub by_agent: BTreeMap<String, T>,
    pub by_week: BTreeMap<String, T>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseTimes {
    pub first_response: Grouped<Durations>,
    pub resolution: Grouped<Durations>,
}

/// The group keys of a row: its project, department, agent and week; a missing
/// department or agent is "(none)".
fn keys(project: &str, department: Option<&str>, agent: Option<&str>, at: i64) -> [String; 4] {
    [
        project.to_owned(),
        department.unwrap_or("(none)").to_owned(),
        agent.unwrap_or("(none)").to_owned(),
        iso_week(at),
    ]
}

/// The ISO week of a moment, as `2026-W49`.
pub fn iso_week(at_ms: i64) -> String {
    use chrono::Datelike;
    match chrono::DateTime::from_timestamp_millis(at_ms) {
        Some(at) => {
            let week = at.iso_week();
            format!("{}-W{:02}", week.year(), week.week())
        }
        None => "(unknown)".into(),
    }
}

/// The value at percentile `p` of sorted `values`, by nearest rank.
fn nearest_rank(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn durations(mut ms: Vec<i64>) -> Durations {
    ms.sort_unstable();
    let minutes = |v: Option<i64>| v.map(|v| (v as f64 / 60_000.0 * 10.0).round() / 10.0);
    Durations {
        count: ms.len(),
        median_minutes: minutes(nearest_rank(&ms, 50.0)),
        p90_minutes: minutes(nearest_rank(&ms, 90.0)),
    }
}

fn ratings(values: Vec<i64>) -> Ratings {
    let mut distribution = [0; 5];
    for v in &values {
        if let Some(slot) = usize::try_from(*v - 1).ok().and_then(|i| distribution.get_mut(i)) {
            *slot += 1;
        }
    }
    let average =
        (!values.is_empty()).then(|| (values.iter().sum::<i64>() as f64 / values.len() as f64 * 100.0).round() / 100.0);
    Ratings {
        count: values.len(),
        average,
        distribution,
    }
}

/// Gather `(keys, value)` rows into groups and summarize each with `summary`.
fn group<T>(rows: Vec<([String; 4], i64)>, summary: impl Fn(Vec<i64>) -> T) -> Grouped<T> {
    let mut maps: [BTreeMap<String, Vec<i64>>; 4] = Default::default();
    let mut all = Vec::with_capacity(rows.len());
    for (keys, value) in rows {
        all.push(value);
        for (map, key) in maps.iter_mut().zip(keys) {
            map.entry(key).or_default().push(value);
        }
    }
    let [by_project, by_department, by_agent, by_week] =
        maps.map(|m| m.into_iter().map(|(k, v)| (k, summary(v))).collect());
    Grouped {
        overall: summary(all),
        by_project,
        by_department,
        by_agent,
        by_week,
    }
}

/// First response and resolution times of tickets, grouped by the week they were filed.
pub fn response_times(tickets: &[TicketTimes]) -> ResponseTimes {
    let rows = |pick: fn(&TicketTimes) -> Option<i64>| -> Vec<([String; 4], i64)> {
        tickets
            .iter()
            .filter_map(|t| {
                let at = pick(t)?;
                let keys = keys(&t.project, t.department.as_deref(), t.agent.as_deref(), t.created_at);
                Some((keys, (at - t.created_at).max(0)))
            })
            .collect()
    };
    ResponseTimes {
        first_response: group(rows(|t| t.first_response_at), durations),
        resolution: group(rows(|t| t.first_resolved_at), durations),
    }
}

/// Satisfaction of answered surveys, grouped by the week they were answered.
pub fn satisfaction(rated: &[Rated]) -> Grouped<Ratings> {
    let rows = rated
        .iter()
        .map(|r| {
            (
                keys(&r.project, r.department.as_deref(), r.agent.as_deref(), r.at),
                r.rating,
            )
        })
        .collect();
    group(rows, ratings)
}

fn each_group<T>(grouped: &Grouped<T>) -> Vec<(&'static str, &str, &T)> {
    let mut rows = vec![("overall", "", &grouped.overall)];
    for (name, map) in [
        ("project", &grouped.by_project),
        ("department", &grouped.by_department),
        ("agent", &grouped.by_agent),
        ("week", &grouped.by_week),
    ] {
        rows.extend(map.iter().map(|(k, v)| (name, k.as_str(), v)));
    }
    rows
}

/// A CSV field, quoted when it must be (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn number(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

pub fn response_times_csv(report: &ResponseTimes) -> String {
    let mut out = String::from("metric,group,key,count,median_minutes,p90_minutes\n");
    for (metric, grouped) in [
        ("first_response", &report.first_response),
        ("resolution", &report.resolution),
    ] {
        for (group, key, d) in each_group(grouped) {
            out.push_str(&format!(
                "{metric},{group},{},{},{},{}\n",
                csv_field(key),
                d.count,
                number(d.median_minutes),
                number(d.p90_minutes)
            ));
        }
    }
    out
}

pub fn satisfaction_csv(report: &Grouped<Ratings>) -> String {
    let mut out = String::from("group,key,count,average,rated_1,rated_2,rated_3,rated_4,rated_5\n");
    for (group, key, r) in each_group(report) {
        let d = r.distribution;
        out.push_str(&format!(
            "{group},{},{},{},{},{},{},{},{}\n",
            csv_field(key),
            r.count,
            number(r.average),
            d[0],
            d[1],
            d[2],
            d[3],
            d[4]
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    fn ticket(
        department: Option<&str>,
        agent: Option<&str>,
        response: Option<i64>,
        resolved: Option<i64>,
    ) -> TicketTimes {
        TicketTimes {
            project: "IT".into(),
            department: department.map(str::to_owned),
            agent: agent.map(str::to_owned),
            created_at: 1_764_547_200_000, // 2025-12-01, a Monday
            first_response_at: response.map(|m| 1_764_547_200_000 + m * MINUTE),
            first_resolved_at: resolved.map(|m| 1_764_547_200_000 + m * MINUTE),
        }
    }

    #[test]
    fn medians_and_90th_percentiles_are_by_nearest_rank_per_group() {
        let tickets: Vec<TicketTimes> = (1..=10)
            .map(|m| ticket(Some("Hardware"), Some("U1"), Some(m), None))
            .chain([ticket(None, None, Some(100), Some(30)), ticket(None, None, None, None)])
            .collect();
        let report = response_times(&tickets);
        let overall = &report.first_response.overall;
        assert_eq!(overall.count, 11);
        assert_eq!(overall.median_minutes, Some(6.0));
        assert_eq!(overall.p90_minutes, Some(10.0));
        let hardware = &report.first_response.by_department["Hardware"];
        assert_eq!((hardware.median_minutes, hardware.p90_minutes), (Some(5.0), Some(9.0)));
        assert_eq!(report.first_response.by_agent["(none)"].count, 1);
        assert_eq!(report.resolution.overall.count, 1);
        assert_eq!(report.resolution.by_week["2025-W49"].median_minutes, Some(30.0));
        let csv = response_times_csv(&report);
        assert!(
            csv.starts_with("metric,group,key,count,median_minutes,p90_minutes\nfirst_response,overall,,11,6,10\n"),
            "{csv}"
        );
    }

    #[test]
    fn satisfaction_counts_averages_and_distributes() {
        let rated: Vec<Rated> = [5, 4, 4, 1]
            .into_iter()
            .map(|rating| Rated {
                project: "IT".into(),
                department: Some("Net, WAN".into()),
                agent: Some("U1".into()),
                at: 1_764_547_200_000,
                rating,
            })
            .collect();
        let report = satisfaction(&rated);
        assert_eq!(report.overall.count, 4);
        assert_eq!(report.overall.average, Some(3.5));
        assert_eq!(report.overall.distribution, [1, 0, 0, 2, 1]);
        assert!(satisfaction_csv(&report).contains("department,\"Net, WAN\",4,3.5,1,0,0,2,1\n"));
        assert_eq!(satisfaction(&[]).overall.average, None);
    }
}
