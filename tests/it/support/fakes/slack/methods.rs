//! What each Web API method does to the fake's state, and what it answers.

use super::server::*;
use super::*;

pub(super) fn answer(inner: &Mutex<Inner>, method: &str, params: &Value) -> Response {
    let mut inner = inner.lock().unwrap_or_else(|p| p.into_inner());
    let inner = &mut *inner;
    let text = |k: &str| params[k].as_str().unwrap_or_default().to_owned();
    let new_hash = |inner: &mut Inner| {
        inner.next_hash += 1;
        format!("1700000000.{:06}", inner.next_hash)
    };
    match method {
        "auth.test" => ok(
            json!({ "url": WORKSPACE_URL, "team": "Acme", "user": "deskhand", "team_id": TEAM, "user_id": BOT_USER, "bot_id": "B0BOT" }),
        ),
        "apps.connections.open" => match &inner.socket_url {
            Some(url) => ok(json!({ "url": url })),
            None => slack_error("not_allowed_token_type"),
        },
        "users.lookupByEmail" => {
            let email = text("email").to_lowercase();
            let found = inner.users.values().find(|u| {
                u["profile"]["email"]
                    .as_str()
                    .is_some_and(|e| e.to_lowercase() == email)
                    && u["deleted"] != true
            });
            match found {
                Some(user) => ok(json!({ "user": user })),
                None => slack_error("users_not_found"),
            }
        }
        "users.info" => match inner.users.get(&text("user")) {
            Some(user) => ok(json!({ "user": user })),
            None => slack_error("user_not_found"),
        },
        "conversations.info" => {
            let member = !inner.outside.contains(&text("channel"));
            ok(
                json!({ "channel": { "id": text("channel"), "name": text("channel").to_lowercase(), "is_member": member } }),
            )
        }
        "chat.postMessage" => {
            let Ok(blocks) = json_param(params, "blocks") else {
                return slack_error("invalid_blocks");
            };
            // Slack stamps a post with the time it was made (deskhand searches history
            // from a recent `oldest`), and no two alike.
            inner.next_ts = now_micros().max(inner.next_ts + 100);
            let ts = format!("{}.{:06}", inner.next_ts / 1_000_000, inner.next_ts % 1_000_000);
            let message = Message {
                channel: text("channel"),
                ts: ts.clone(),
                thread_ts: params["thread_ts"].as_str().map(str::to_owned),
                text: text("text"),
                blocks,
                metadata: params.get("metadata").cloned().filter(|m| !m.is_null()),
                user: None,
                at: Instant::now(),
            };
            inner.messages.push(message);
            ok(json!({ "channel": text("channel"), "ts": ts, "message": { "text": text("text"), "ts": ts } }))
        }
        "chat.update" => {
            let Ok(blocks) = json_param(params, "blocks") else {
                return slack_error("invalid_blocks");
            };
            let (channel, ts) = (text("channel"), text("ts"));
            match inner.messages.iter_mut().find(|m| m.channel == channel && m.ts == ts) {
                // Only the author may edit a message: people's are not deskhand's to change.
                Some(message) if message.user.is_some() => slack_error("cant_update_message"),
                Some(message) => {
                    message.text = text("text");
                    message.blocks = blocks;
                    ok(json!({ "channel": channel, "ts": ts }))
                }
                None => slack_error("message_not_found"),
            }
        }
        "chat.postEphemeral" => {
            let Ok(blocks) = json_param(params, "blocks") else {
                return slack_error("invalid_blocks");
            };
            let mut ephemeral = params.clone();
            if !blocks.is_null() {
                ephemeral["blocks"] = blocks;
            }
            inner.ephemerals.push(ephemeral);
            ok(json!({ "message_ts": "1700000000.000001" }))
        }
        "chat.getPermalink" => ok(json!({
            "channel": text("channel"),
            "permalink": format!("{WORKSPACE_URL}archives/{}/p{}", text("channel"), text("message_ts").replace('.', "")),
        })),
        "conversations.history" => {
            // Top-level messages between `oldest` and `latest`, newest first, a page at a time.
            let channel = text("channel");
            let inclusive = flag_param(params, "inclusive");
            let bound = |k: &str| params[k].as_str().filter(|s| !s.is_empty()).map(ts_key);
            let (latest, oldest) = (bound("latest"), bound("oldest"));
            let mut found: Vec<&Message> = inner
                .messages
                .iter()
                .filter(|m| m.channel == channel)
                .filter(|m| m.thread_ts.as_deref().is_none_or(|t| t == m.ts))
                .filter(|m| {
                    let key = ts_key(&m.ts);
                    latest.is_none_or(|l| if inclusive { key <= l } else { key < l })
                        && oldest.is_none_or(|o| if inclusive { key >= o } else { key > o })
                })
                .collect();
            found.sort_by_key(|m| Reverse(ts_key(&m.ts)));
            let limit = number_param(params, "limit").filter(|n| *n > 0).unwrap_or(100);
            let offset = cursor_param(params);
            let with_metadata = flag_param(params, "include_all_metadata");
            let messages: Vec<Value> = found
                .iter()
                .skip(offset)
                .take(limit)
                .map(|m| render(m, &inner.messages, with_metadata))
                .collect();
            let next = next_cursor(offset, messages.len(), found.len());
            ok(
                json!({ "messages": messages, "has_more": !next.is_empty(), "response_metadata": { "next_cursor": next } }),
            )
        }
        "conversations.replies" => {
            // The whole thread `ts` is in (as its parent or as a reply): parent first, then
            // the replies oldest first.
            let (channel, ts) = (text("channel"), text("ts"));
            let in_channel = || inner.messages.iter().filter(|m| m.channel == channel);
            let root = in_channel()
                .find(|m| m.ts == ts)
                .and_then(|m| m.thread_ts.clone())
                .unwrap_or_else(|| ts.clone());
            let mut thread: Vec<&Message> = in_channel()
                .filter(|m| m.ts == root || m.thread_ts.as_deref() == Some(root.as_str()))
                .collect();
            if thread.is_empty() {
                return slack_error("thread_not_found");
            }
            thread.sort_by_key(|m| (m.ts != root, ts_key(&m.ts)));
            let with_metadata = flag_param(params, "include_all_metadata");
            let messages: Vec<Value> = thread
                .iter()
                .map(|m| render(m, &inner.messages, with_metadata))
                .collect();
            ok(json!({ "messages": messages, "has_more": false, "response_metadata": { "next_cursor": "" } }))
        }
        "conversations.open" => {
            let users = text("users");
            match users.split(',').filter(|u| !u.is_empty()).collect::<Vec<_>>()[..] {
                [] => slack_error("users_list_not_supplied"),
                [user] => ok(json!({ "channel": { "id": dm_channel(user) } })),
                _ => slack_error("fake_slack_opens_dms_with_one_user_only"),
            }
        }
        "conversations.members" => {
            let members = inner.members.get(&text("channel")).cloned().unwrap_or_default();
            let limit = number_param(params, "limit").filter(|n| *n > 0).unwrap_or(100);
            let offset = cursor_param(params);
            let page: Vec<&String> = members.iter().skip(offset).take(limit).collect();
            let next = next_cursor(offset, page.len(), members.len());
            ok(json!({ "members": page, "response_metadata": { "next_cursor": next } }))
        }
        "reactions.add" => {
            let (channel, timestamp, name) = (text("channel"), text("timestamp"), text("name"));
            if channel.is_empty() || timestamp.is_empty() {
                return slack_error("no_item_specified");
            }
            if name.is_empty() {
                return slack_error("invalid_name");
            }
            let reaction = (channel, timestamp, name);
            if inner.reactions.contains(&reaction) {
                return slack_error("already_reacted");
            }
            inner.reactions.push(reaction);
            ok(json!({}))
        }
        "views.open" => {
            let Ok(view @ Value::Object(_)) = json_param(params, "view") else {
                return slack_error("invalid_arguments");
            };
            let trigger_id = params["trigger_id"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if trigger_id.is_none() {
                return slack_error("invalid_arguments");
            }
            let id = format!("V{:04}", inner.views.len() + 1);
            let hash = new_hash(inner);
            inner.views.push(View {
                id: id.clone(),
                trigger_id,
                view: view.clone(),
                hash: hash.clone(),
                at: Instant::now(),
                updates: 0,
            });
            view_answer(&view, &id, &hash)
        }
        "views.update" => {
            let Ok(view @ Value::Object(_)) = json_param(params, "view") else {
                return slack_error("invalid_arguments");
            };
            let hash = new_hash(inner);
            let Some(stored) = inner.views.iter_mut().find(|v| v.id == text("view_id")) else {
                return slack_error("not_found");
            };
            // A `hash` other than the last one given: the view changed since it was read.
            if params["hash"]
                .as_str()
                .is_some_and(|h| !h.is_empty() && h != stored.hash)
            {
                return slack_error("hash_conflict");
            }
            stored.view = view.clone();
            stored.hash = hash.clone();
            stored.updates += 1;
            view_answer(&view, &stored.id, &hash)
        }
        "views.publish" => {
            let Ok(view @ Value::Object(_)) = json_param(params, "view") else {
                return slack_error("invalid_arguments");
            };
            let user = text("user_id");
            if user.is_empty() {
                return slack_error("invalid_arguments");
            }
            let hash = new_hash(inner);
            let home = inner.homes.entry(user.clone()).or_insert_with(|| Home {
                view: Value::Null,
                hash: String::new(),
                publishes: 0,
            });
            if params["hash"].as_str().is_some_and(|h| !h.is_empty() && h != home.hash) {
                return slack_error("hash_conflict");
            }
            home.view = view.clone();
            home.hash = hash.clone();
            home.publishes += 1;
            view_answer(&view, &format!("VHOME{user}"), &hash)
        }
        "response_url" => {
            if params.get("unparsed").is_some() {
                return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
            }
            let mut body = params.clone();
            if let Some(body) = body.as_object_mut() {
                body.remove("hook");
            }
            inner.responses.push(body);
            "ok".into_response()
        }
        _ => slack_error("unknown_method"),
    }
}
