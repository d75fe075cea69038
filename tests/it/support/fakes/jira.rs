//! A fake Jira Service Management site on 127.0.0.1: the calls deskhand makes, answered
//! in Jira's shapes, with HTTP Basic accounts. It checks every request body against its
//! operation's schema in Jira's published API descriptions (`tests/contracts/`), answering
//! 400 and recording the violation as the real service would refuse it. A test can make
//! calls fail (429 with `Retry-After`, 500, 401), lose an answer after acting, act as an
//! agent in Jira, and send the signed webhooks Jira would.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

pub const SERVICE_DESK: &str = "4";
pub const PROJECT: &str = "SUP";
pub const REQUEST_TYPE: &str = "10";
pub const HARDWARE_TYPE: &str = "11";
/// The request types' field for the department.
pub const DEPARTMENT_FIELD: &str = "customfield_10050";
/// deskhand's own account.
pub const DESKHAND_EMAIL: &str = "deskhand@acme.example";
pub const DESKHAND_TOKEN: &str = "jira-api-token-deskhand";
pub const DESKHAND_ACCOUNT: &str = "acc-deskhand";
/// An agent who works in Jira.
pub const IVY_ACCOUNT: &str = "acc-ivy";
pub const STATUSES: [&str; 4] = ["Waiting for support", "In progress", "Waiting for customer", "Resolved"];

#[derive(Debug, Clone)]
pub struct Account {
    pub account_id: String,
    pub email: String,
    pub name: String,
    /// Their API token: `None` for people who never call the API.
    pub token: Option<String>,
    pub customer: bool,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: String,
    pub body: String,
    pub public: bool,
    pub author: String,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub id: String,
    pub key: String,
    pub summary: String,
    pub description: String,
    pub request_type: String,
    pub status: String,
    pub priority: String,
    /// Who raised it (the caller) and whom for.
    pub raised_by: String,
    pub reporter: String,
    pub assignee: Option<String>,
    pub comments: Vec<Comment>,
    /// When it last changed, unix ms.
    pub updated: i64,
    /// Approvals as (id, approver's account, decision).
    pub approvals: Vec<(String, String, String)>,
    pub participants: Vec<String>,
    /// The request's field values as deskhand sent them.
    pub fields: Value,
}

/// One call deskhand made: who (by email), what, and the body.
#[derive(Debug, Clone)]
pub struct JiraCall {
    pub method: String,
    pub path: String,
    pub caller: Option<String>,
    pub body: Value,
}

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Answer this status (with `Retry-After: 1` for 429) without acting.
    Status(u16),
    /// Act, then answer 502 as if the answer were lost on the way.
    LoseAnswer,
}

#[derive(Default)]
struct Inner {
    accounts: Vec<Account>,
    issues: Vec<Issue>,
    calls: Vec<JiraCall>,
    faults: VecDeque<(String, String, Fault)>,
    violations: Vec<String>,
    next_id: u64,
    /// The fake's clock, ms: every change is later than the one before.
    clock: i64,
}

impl Inner {
    fn tick(&mut self) -> i64 {
        let now = chrono::Utc::now().timestamp_millis();
        self.clock = (self.clock + 1).max(now);
        self.clock
    }

    /// Mark an issue changed now; the time.
    fn touch(&mut self, key: &str) -> i64 {
        let at = self.tick();
        if let Some(issue) = self.issues.iter_mut().find(|i| i.key == key) {
            issue.updated = at;
        }
        at
    }
}

fn jira_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

#[derive(Clone)]
pub struct FakeJira {
    inner: Arc<Mutex<Inner>>,
    addr: String,
}

/// Each operation deskhand sends a body to, and the schema its body must meet: (method,
/// path pattern, description file, component).
const OPERATIONS: &[(&str, &str, &str, &str)] = &[
    (
        "POST",
        "/rest/servicedeskapi/request",
        "servicedesk",
        "RequestCreateDTO",
    ),
    (
        "POST",
        "/rest/servicedeskapi/request/*/comment",
        "servicedesk",
        "CommentCreateDTO",
    ),
    (
        "POST",
        "/rest/servicedeskapi/customer",
        "servicedesk",
        "CustomerCreateDTO",
    ),
    (
        "POST",
        "/rest/servicedeskapi/servicedesk/*/customer",
        "servicedesk",
        "ServiceDeskCustomerDTO",
    ),
    ("POST", "/rest/api/3/search", "platform", "SearchRequestBean"),
    (
        "POST",
        "/rest/servicedeskapi/request/*/participant",
        "servicedesk",
        "RequestParticipantUpdateDTO",
    ),
    (
        "POST",
        "/rest/api/3/issue/*/transitions",
        "platform",
        "IssueUpdateDetails",
    ),
    ("PUT", "/rest/api/3/issue/*/assignee", "platform", "User"),
    ("PUT", "/rest/api/3/issue/*", "platform", "IssueUpdateDetails"),
];

fn spec(which: &str) -> &'static Value {
    static SERVICE_DESK_SPEC: OnceLock<Value> = OnceLock::new();
    static PLATFORM_SPEC: OnceLock<Value> = OnceLock::new();
    let (cell, file) = match which {
        "servicedesk" => (&SERVICE_DESK_SPEC, "jira-servicedesk-openapi.json"),
        _ => (&PLATFORM_SPEC, "jira-platform-v3-openapi.json"),
    };
    cell.get_or_init(|| {
        let path = format!("{}/tests/contracts/{file}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect("Jira's API description")).expect("JSON")
    })
}

fn matches_pattern(pattern: &str, path: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    a.len() == b.len() && a.iter().zip(&b).all(|(p, s)| *p == "*" || p == s)
}

/// What is wrong with a body for its operation, by Jira's published description.
pub fn contract_violations(method: &str, path: &str, body: &Value) -> Vec<String> {
    let Some((_, _, which, component)) = OPERATIONS
        .iter()
        .find(|(m, p, _, _)| *m == method && matches_pattern(p, path))
    else {
        return vec![format!("{method} {path} is not an operation deskhand is known to use")];
    };
    let described = spec(which);
    let schema = json!({
        "$ref": format!("#/components/schemas/{component}"),
        "components": described["components"].clone(),
    });
    let validator = jsonschema::validator_for(&schema).expect("the description's schemas compile");
    validator
        .iter_errors(body)
        .map(|e| format!("{method} {path}: {e} at {}", e.instance_path()))
        .collect()
}

fn answer(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).expect("status"), Json(body)).into_response()
}

fn error(status: u16, message: &str) -> Response {
    answer(status, json!({ "errorMessage": message, "errorMessages": [message] }))
}

impl FakeJira {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            next_id: 10_000,
            ..Inner::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Jira");
        let addr = format!("http://{}", listener.local_addr().expect("address"));
        let app = Router::new().fallback(any(handle)).with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let fake = Self { inner, addr };
        fake.add_account(
            DESKHAND_ACCOUNT,
            DESKHAND_EMAIL,
            "deskhand",
            Some(DESKHAND_TOKEN),
            false,
        );
        fake.add_account(IVY_ACCOUNT, "ivy@acme.example", "Ivy Agent", None, false);
        fake
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn url(&self) -> &str {
        &self.addr
    }

    pub fn add_account(&self, account_id: &str, email: &str, name: &str, token: Option<&str>, customer: bool) {
        self.lock().accounts.push(Account {
            account_id: account_id.into(),
            email: email.into(),
            name: name.into(),
            token: token.map(str::to_owned),
            customer,
        });
    }

    /// The account's token stops working (it was revoked), or works again.
    pub fn set_token(&self, account_id: &str, token: Option<&str>) {
        for account in self.lock().accounts.iter_mut().filter(|a| a.account_id == account_id) {
            account.token = token.map(str::to_owned);
        }
    }

    pub fn account_by_email(&self, email: &str) -> Option<Account> {
        self.lock().accounts.iter().find(|a| a.email == email).cloned()
    }

    /// Make the next call of `method` to a path containing `path` fail so.
    pub fn fail(&self, method: &str, path: &str, fault: Fault) {
        self.lock().faults.push_back((method.into(), path.into(), fault));
    }

    pub fn calls(&self) -> Vec<JiraCall> {
        self.lock().calls.clone()
    }

    pub fn calls_to(&self, method: &str, path_start: &str) -> Vec<JiraCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && c.path.starts_with(path_start))
            .collect()
    }

    pub fn issues(&self) -> Vec<Issue> {
        self.lock().issues.clone()
    }

    pub fn issue(&self, key: &str) -> Issue {
        self.issues()
            .into_iter()
            .find(|i| i.key == key)
            .unwrap_or_else(|| panic!("no issue {key}"))
    }

    /// Every body deskhand sent that its operation's schema refuses.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// An agent comments on an issue in Jira: the webhook body Jira sends for it.
    pub fn agent_comments(&self, key: &str, body: &str, public: bool) -> Value {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id.to_string();
        let issue = inner.issues.iter_mut().find(|i| i.key == key).expect("the issue");
        issue.comments.push(Comment {
            id: id.clone(),
            body: body.into(),
            public,
            author: IVY_ACCOUNT.into(),
        });
        let at = inner.touch(key);
        let issue = inner.issues.iter().find(|i| i.key == key).cloned().expect("the issue");
        let issue = issue_json(&issue, &inner.accounts);
        json!({
            "timestamp": at, "webhookEvent": "comment_created",
            "comment": {
                "id": id, "body": body, "jsdPublic": public,
                "author": { "accountId": IVY_ACCOUNT, "displayName": "Ivy Agent" }
            },
            "issue": issue,
        })
    }

    /// An agent moves an issue in Jira: the webhook body.
    pub fn agent_moves(&self, key: &str, status: &str) -> Value {
        let mut inner = self.lock();
        let issue = inner.issues.iter_mut().find(|i| i.key == key).expect("the issue");
        let from = std::mem::replace(&mut issue.status, status.to_owned());
        inner.touch(key);
        let issue = inner.issues.iter().find(|i| i.key == key).cloned().expect("the issue");
        updated(&issue, &inner.accounts, IVY_ACCOUNT, "status", &from, status)
    }

    /// An agent changes an issue's priority in Jira: the webhook body.
    pub fn agent_prioritizes(&self, key: &str, priority: &str) -> Value {
        let mut inner = self.lock();
        let issue = inner.issues.iter_mut().find(|i| i.key == key).expect("the issue");
        let from = std::mem::replace(&mut issue.priority, priority.to_owned());
        inner.touch(key);
        let issue = inner.issues.iter().find(|i| i.key == key).cloned().expect("the issue");
        updated(&issue, &inner.accounts, IVY_ACCOUNT, "priority", &from, priority)
    }

    /// The request waits for `account`'s approval (Jira's approval step).
    pub fn ask_approval(&self, key: &str, account: &str) {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id.to_string();
        let issue = inner.issues.iter_mut().find(|i| i.key == key).expect("the issue");
        issue.approvals.push((id, account.into(), "pending".into()));
    }

    /// An agent assigns an issue in Jira (no webhook: the reconcile finds it).
    pub fn agent_assigns(&self, key: &str, account_id: &str) {
        let mut inner = self.lock();
        let issue = inner.issues.iter_mut().find(|i| i.key == key).expect("the issue");
        issue.assignee = Some(account_id.into());
        inner.touch(key);
    }

    /// Jira's webhook delivery of `body`, signed with `secret`, to deskhand at `url`.
    pub async fn deliver(&self, url: &str, secret: &str, identifier: &str, body: &Value) -> u16 {
        let raw = body.to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(raw.as_bytes());
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        reqwest::Client::new()
            .post(format!("{url}/jira/webhook"))
            .header("content-type", "application/json")
            .header("x-hub-signature", signature)
            .header("x-atlassian-webhook-identifier", identifier)
            .body(raw)
            .send()
            .await
            .expect("deskhand answers")
            .status()
            .as_u16()
    }
}

/// An `issue_updated` webhook body for one changed field.
pub fn updated(issue: &Issue, accounts: &[Account], by: &str, field: &str, from: &str, to: &str) -> Value {
    json!({
        "timestamp": issue.updated, "webhookEvent": "jira:issue_updated",
        "user": user_json(by, accounts),
        "issue": issue_json(issue, accounts),
        "changelog": { "items": [{ "field": field, "fromString": from, "toString": to }] },
    })
}

fn user_json(account_id: &str, accounts: &[Account]) -> Value {
    match accounts.iter().find(|a| a.account_id == account_id) {
        Some(a) => json!({ "accountId": a.account_id, "displayName": a.name, "emailAddress": a.email }),
        None => json!({ "accountId": account_id }),
    }
}

fn issue_json(issue: &Issue, accounts: &[Account]) -> Value {
    json!({
        "id": issue.id, "key": issue.key,
        "fields": {
            "summary": issue.summary, "description": issue.description, "updated": jira_time(issue.updated),
            "status": { "name": issue.status }, "priority": { "name": issue.priority },
            "reporter": user_json(&issue.reporter, accounts),
            "assignee": issue.assignee.as_deref().map(|a| user_json(a, accounts)),
            "project": { "key": PROJECT },
        }
    })
}

/// The caller, by HTTP Basic: an account whose token matches.
fn caller(headers: &HeaderMap, accounts: &[Account]) -> Option<Account> {
    let header = headers.get("authorization")?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(header.strip_prefix("Basic ")?)
        .ok()?;
    let (email, token) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    accounts
        .iter()
        .find(|a| a.email == email && a.token.as_deref() == Some(token))
        .cloned()
}

fn query_param(query: &Option<String>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(body) => body,
            Err(_) => return error(400, "not JSON"),
        }
    };
    let mut inner = inner.lock().unwrap_or_else(|p| p.into_inner());
    let who = caller(&headers, &inner.accounts);
    inner.calls.push(JiraCall {
        method: method.to_string(),
        path: path.clone(),
        caller: who.as_ref().map(|a| a.email.clone()),
        body: body.clone(),
    });
    let fault = inner
        .faults
        .iter()
        .position(|(m, p, _)| *m == method.as_str() && path.contains(p.as_str()))
        .and_then(|at| inner.faults.remove(at))
        .map(|(_, _, fault)| fault);
    match fault {
        Some(Fault::Status(429)) => {
            return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "slow down").into_response()
        }
        Some(Fault::Status(status)) => return error(status, "injected"),
        _ => {}
    }
    let Some(who) = who else {
        return error(401, "Client must be authenticated to access this resource.");
    };
    if !body.is_null() {
        let wrong = contract_violations(method.as_str(), &path, &body);
        if !wrong.is_empty() {
            inner.violations.extend(wrong.iter().cloned());
            return error(400, &wrong.join("; "));
        }
    }
    let answered = act(&mut inner, &who, method.as_str(), &path, &query, &body);
    if matches!(fault, Some(Fault::LoseAnswer)) {
        return error(502, "the answer was lost");
    }
    answered
}

fn act(inner: &mut Inner, who: &Account, method: &str, path: &str, query: &Option<String>, body: &Value) -> Response {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["rest", "api", "3", "myself"]) => answer(
            200,
            json!({ "accountId": who.account_id, "displayName": who.name, "emailAddress": who.email }),
        ),
        ("GET", ["rest", "servicedeskapi", "servicedesk", id]) if *id == SERVICE_DESK => answer(
            200,
            json!({ "id": SERVICE_DESK, "projectId": "10000", "projectKey": PROJECT, "projectName": "Support" }),
        ),
        ("GET", ["rest", "servicedeskapi", "servicedesk", _]) => error(404, "No such service desk"),
        ("GET", ["rest", "servicedeskapi", "servicedesk", _, "requesttype"]) => answer(
            200,
            json!({ "values": [
                { "id": REQUEST_TYPE, "name": "Get IT help" },
                { "id": HARDWARE_TYPE, "name": "Request hardware" }
            ], "isLastPage": true, "start": 0, "limit": 50, "size": 2 }),
        ),
        ("GET", ["rest", "servicedeskapi", "servicedesk", _, "requesttype", _, "field"]) => answer(
            200,
            json!({ "requestTypeFields": [
                { "fieldId": "summary", "name": "Summary", "required": true },
                { "fieldId": "description", "name": "Description", "required": false },
                { "fieldId": DEPARTMENT_FIELD, "name": "Department", "required": false }
            ], "canRaiseOnBehalfOf": true, "canAddRequestParticipants": true }),
        ),
        ("GET", ["rest", "api", "3", "priority"]) => answer(
            200,
            json!(["Highest", "High", "Medium", "Low", "Lowest"]
                .iter()
                .map(|n| json!({ "name": n }))
                .collect::<Vec<_>>()),
        ),
        ("GET", ["rest", "api", "3", "user", "search"]) => {
            let wanted = query_param(query, "query").unwrap_or_default();
            let found: Vec<Value> = inner
                .accounts
                .iter()
                .filter(|a| a.email.eq_ignore_ascii_case(&wanted))
                .map(|a| json!({ "accountId": a.account_id, "displayName": a.name, "emailAddress": a.email }))
                .collect();
            answer(200, json!(found))
        }
        ("POST", ["rest", "servicedeskapi", "customer"]) => {
            inner.next_id += 1;
            let account_id = format!("acc-{}", inner.next_id);
            let email = body["email"].as_str().unwrap_or_default().to_owned();
            let name = body["displayName"].as_str().unwrap_or_default().to_owned();
            inner.accounts.push(Account {
                account_id: account_id.clone(),
                email: email.clone(),
                name: name.clone(),
                token: None,
                customer: true,
            });
            answer(
                201,
                json!({ "accountId": account_id, "displayName": name, "emailAddress": email }),
            )
        }
        ("POST", ["rest", "servicedeskapi", "servicedesk", _, "customer"]) => answer(204, Value::Null),
        ("POST", ["rest", "servicedeskapi", "request"]) => {
            inner.next_id += 1;
            let id = inner.next_id.to_string();
            let key = format!("{PROJECT}-{}", inner.issues.len() + 1);
            let reporter = body["raiseOnBehalfOf"].as_str().unwrap_or(&who.account_id).to_owned();
            let fields = &body["requestFieldValues"];
            inner.issues.push(Issue {
                id: id.clone(),
                key: key.clone(),
                summary: fields["summary"].as_str().unwrap_or_default().into(),
                description: fields["description"].as_str().unwrap_or_default().into(),
                request_type: body["requestTypeId"].as_str().unwrap_or_default().into(),
                status: STATUSES[0].into(),
                priority: "Medium".into(),
                raised_by: who.account_id.clone(),
                reporter,
                assignee: None,
                comments: Vec::new(),
                updated: 0,
                approvals: Vec::new(),
                participants: Vec::new(),
                fields: fields.clone(),
            });
            inner.touch(&key);
            answer(201, json!({ "issueId": id, "issueKey": key }))
        }
        ("POST", ["rest", "api", "3", "search"]) => {
            let jql = body["jql"].as_str().unwrap_or_default();
            let found: Vec<Value> = inner
                .issues
                .iter()
                .filter(|i| jql_matches(jql, i))
                .map(|i| issue_json(i, &inner.accounts))
                .collect();
            answer(
                200,
                json!({ "startAt": 0, "maxResults": 50, "total": found.len(), "issues": found }),
            )
        }
        ("POST", ["rest", "servicedeskapi", "request", key, "comment"]) => {
            inner.next_id += 1;
            let id = inner.next_id.to_string();
            let Some(issue) = inner.issues.iter_mut().find(|i| i.key == *key) else {
                return error(404, "Issue does not exist");
            };
            issue.comments.push(Comment {
                id: id.clone(),
                body: body["body"].as_str().unwrap_or_default().into(),
                public: body["public"].as_bool().unwrap_or(true),
                author: who.account_id.clone(),
            });
            inner.touch(key);
            answer(201, json!({ "id": id, "body": body["body"], "public": body["public"] }))
        }
        ("GET", ["rest", "servicedeskapi", "request", key, "comment"]) => {
            let Some(issue) = inner.issues.iter().find(|i| i.key == *key) else {
                return error(404, "Issue does not exist");
            };
            let values: Vec<Value> = issue
                .comments
                .iter()
                .map(|c| json!({ "id": c.id, "body": c.body, "public": c.public, "author": { "accountId": c.author } }))
                .collect();
            answer(
                200,
                json!({ "values": values, "isLastPage": true, "start": 0, "limit": 50 }),
            )
        }
        ("GET", ["rest", "servicedeskapi", "request", key, "approval"]) => {
            let Some(issue) = inner.issues.iter().find(|i| i.key == *key) else {
                return error(404, "Issue does not exist");
            };
            let values: Vec<Value> = issue
                .approvals
                .iter()
                .map(|(id, account, decision)| {
                    json!({ "id": id, "name": "Manager approval", "finalDecision": decision,
                            "approvers": [{ "approver": user_json(account, &inner.accounts), "approverDecision": decision }] })
                })
                .collect();
            answer(
                200,
                json!({ "values": values, "isLastPage": true, "start": 0, "limit": 50 }),
            )
        }
        ("POST", ["rest", "servicedeskapi", "request", key, "participant"]) => {
            let Some(issue) = inner.issues.iter_mut().find(|i| i.key == *key) else {
                return error(404, "Issue does not exist");
            };
            for id in body["accountIds"].as_array().into_iter().flatten() {
                issue.participants.extend(id.as_str().map(str::to_owned));
            }
            answer(200, json!({ "values": [], "isLastPage": true }))
        }
        ("GET", ["rest", "api", "3", "issue", key, "transitions"]) => {
            let Some(issue) = inner.issues.iter().find(|i| i.key == *key) else {
                return error(404, "Issue does not exist");
            };
            // Everything may move anywhere but back to where requests start.
            let transitions: Vec<Value> = STATUSES
                .iter()
                .enumerate()
                .filter(|(n, s)| *n > 0 && **s != issue.status)
                .map(|(n, s)| json!({ "id": format!("{}", 20 + n), "name": format!("To {s}"), "to": { "name": s } }))
                .collect();
            answer(200, json!({ "transitions": transitions }))
        }
        ("POST", ["rest", "api", "3", "issue", key, "transitions"]) => {
            let wanted = body["transition"]["id"].as_str().unwrap_or_default().to_owned();
            let Some(issue) = inner.issues.iter_mut().find(|i| i.key == *key) else {
                return error(404, "Issue does not exist");
            };
            let to = STATUSES
                .iter()
                .enumerate()
                .find(|(n, _)| format!("{}", 20 + n) == wanted)
                .map(|(_, s)| *s);
            match to {
                Some(status) if *status != issue.status && status != STATUSES[0] => {
                    issue.status = status.into();
                    inner.touch(key);
                    answer(204, Value::Null)
                }
                _ => error(400, "It is not on the appropriate screen, or unknown."),
            }
        }
        ("PUT", ["rest", "api", "3", "issue", key, "assignee"]) => {
            let Some(issue) = inner.issues.iter_mut().find(|i| i.key == *key) else {
                return error(404, "Issue does not exist");
            };
            issue.assignee = body["accountId"].as_str().map(str::to_owned);
            inner.touch(key);
            answer(204, Value::Null)
        }
        ("PUT", ["rest", "api", "3", "issue", key]) => {
            let Some(issue) = inner.issues.iter_mut().find(|i| i.key == *key) else {
                return error(404, "Issue does not exist");
            };
            if let Some(priority) = body["fields"]["priority"]["name"].as_str() {
                issue.priority = priority.into();
            }
            inner.touch(key);
            answer(204, Value::Null)
        }
        _ => error(404, &format!("the fake Jira has no {method} {path}")),
    }
}

/// The JQL deskhand sends: `project = "P" AND text ~ "words"`, or `key = "K"`.
fn jql_matches(jql: &str, issue: &Issue) -> bool {
    let quoted: Vec<&str> = jql.split('"').skip(1).step_by(2).collect();
    if jql.contains("updated >= ") {
        return quoted.first().is_some_and(|p| issue.key.starts_with(&format!("{p}-")));
    }
    if jql.starts_with("key = ") {
        return quoted.first() == Some(&issue.key.as_str());
    }
    match quoted.as_slice() {
        [project, words] => {
            issue.key.starts_with(&format!("{project}-"))
                && (issue.description.contains(words) || issue.summary.contains(words))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contracts_refuse_a_misspelt_field_and_a_wrong_type() {
        let good = json!({ "serviceDeskId": "4", "requestTypeId": "10", "requestFieldValues": { "summary": "x" } });
        assert!(contract_violations("POST", "/rest/servicedeskapi/request", &good).is_empty());
        let misspelt = json!({ "serviceDeskId": "4", "requestTypeID": "10" });
        assert!(!contract_violations("POST", "/rest/servicedeskapi/request", &misspelt).is_empty());
        let wrong_type = json!({ "body": "x", "public": "yes" });
        assert!(!contract_violations("POST", "/rest/servicedeskapi/request/SUP-1/comment", &wrong_type).is_empty());
    }
}
