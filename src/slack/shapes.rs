//! The shapes of what Slack sends, checked at the door: ids are short upper-case letters
//! and digits, a message's `ts` is digits, a dot and digits, and the tokens deskhand keys
//! its inbox by (event ids, trigger ids, view ids) are short and plain. Anything else never
//! reaches a lookup, a query or a log line whole.

/// A Slack id: a user (U…, W…), a channel (C…, G…, D…), a team (T…), an enterprise (E…).
pub fn is_id(s: &str) -> bool {
    (2..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A message timestamp: `1700000100.000100`.
pub fn is_ts(s: &str) -> bool {
    s.len() <= 32
        && s.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty() && !b.is_empty() && (a.bytes().chain(b.bytes())).all(|c| c.is_ascii_digit())
        })
}

/// An event id, trigger id, view id or action timestamp: letters, digits, `.`, `_`, `-`.
pub fn is_token(s: &str) -> bool {
    (1..=96).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b))
}

/// Text as deskhand keeps it, on both databases alike: a NUL character (which PostgreSQL's
/// text cannot hold) and a lone UTF-16 surrogate (which no UTF-8 text can hold) become
/// U+FFFD. Applied to a stored payload before it is read, where both can only appear as
/// JSON escapes (`\u0000`, `\ud800` without its pair).
pub fn clean_escapes(json: &str) -> std::borrow::Cow<'_, str> {
    if !json.contains("\\u") {
        return std::borrow::Cow::Borrowed(json);
    }
    let bytes = json.as_bytes();
    let escape_at = |i: usize| -> Option<u16> {
        let hex = json.get(i + 2..i + 6)?;
        (bytes.get(i) == Some(&b'\\') && bytes.get(i + 1) == Some(&b'u'))
            .then(|| u16::from_str_radix(hex, 16).ok())
            .flatten()
    };
    let mut out = String::with_capacity(json.len());
    let mut i = 0;
    let mut changed = false;
    while i < json.len() {
        // An escaped backslash is copied whole, so `\\u0000` (a backslash, then "u0000")
        // stays text.
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'\\') {
            out.push_str("\\\\");
            i += 2;
            continue;
        }
        if let Some(unit) = escape_at(i) {
            let high = (0xD800..0xDC00).contains(&unit);
            let paired = high && escape_at(i + 6).is_some_and(|low| (0xDC00..0xE000).contains(&low));
            let lone = (0xD800..0xE000).contains(&unit) && !paired;
            if unit == 0 || lone {
                out.push_str("\\ufffd");
                changed = true;
                i += 6;
                continue;
            }
            let take = if paired { 12 } else { 6 };
            out.push_str(&json[i..i + take]);
            i += take;
            continue;
        }
        let next = json[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&json[i..i + next]);
        i += next;
    }
    if changed {
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(json)
    }
}

/// Which installation's token answers a payload: the org's, for an org-wide install on
/// Enterprise Grid; else the workspace's. `Err` when an id is not an id.
pub fn installation(
    team: Option<&str>,
    enterprise: Option<&str>,
    is_enterprise_install: bool,
) -> Result<Option<String>, &'static str> {
    let team = team.filter(|t| !t.is_empty());
    let enterprise = enterprise.filter(|e| !e.is_empty());
    // Ids as Slack shows them (`T0123`), or as its examples write them (`T-other-side`).
    let shaped = |id: &str| id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if team.is_some_and(|t| !shaped(t)) || enterprise.is_some_and(|e| !shaped(e)) {
        return Err("team or enterprise is not an id");
    }
    Ok(if is_enterprise_install {
        enterprise.or(team)
    } else {
        team.or(enterprise)
    }
    .map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_timestamps_and_tokens_have_their_shapes() {
        assert!(is_id("U0ANA") && is_id("C0123SUPPORT") && is_id("T0TEAM"));
        for bad in ["", "u0ana", "C0\0X", "U0 ANA", &"U".repeat(70_000)] {
            assert!(!is_id(bad), "{bad:?}");
        }
        assert!(is_ts("1700000100.000100"));
        for bad in ["", "1700000100", ".1", "1.", "1.2.3", "1.x", &"1".repeat(70_000)] {
            assert!(!is_ts(bad), "{bad:?}");
        }
        assert!(is_token("Ev0123ABC") && is_token("111.222.xxx") && is_token("V111"));
        assert!(!is_token("Ev\0") && !is_token("") && !is_token(&"E".repeat(500_000)));
    }

    #[test]
    fn nul_characters_become_replacement_characters() {
        assert_eq!(clean_escapes(r#"{"text":"a\u0000b"}"#), r#"{"text":"a\ufffdb"}"#);
        let read: serde_json::Value = serde_json::from_str(&clean_escapes(r#"{"text":"a\u0000b"}"#)).unwrap();
        assert_eq!(read["text"], "a\u{fffd}b");
        assert!(matches!(clean_escapes("{}"), std::borrow::Cow::Borrowed(_)));
        let lone: serde_json::Value = serde_json::from_str(&clean_escapes(r#"{"t":"x\ud800y"}"#)).unwrap();
        assert_eq!(lone["t"], "x\u{fffd}y");
        let pair: serde_json::Value = serde_json::from_str(&clean_escapes(r#"{"t":"\ud83d\ude00"}"#)).unwrap();
        assert_eq!(pair["t"], "😀", "a real pair stays");
        let literal: serde_json::Value = serde_json::from_str(&clean_escapes(r#"{"t":"\\u0000"}"#)).unwrap();
        assert_eq!(literal["t"], "\\u0000", "an escaped backslash is text");
    }

    #[test]
    fn an_org_wide_install_is_the_org_s_and_any_other_is_the_workspace_s() {
        assert_eq!(installation(Some("T1"), Some("E1"), true), Ok(Some("E1".into())));
        assert_eq!(installation(Some("T1"), Some("E1"), false), Ok(Some("T1".into())));
        assert_eq!(installation(None, Some("E1"), false), Ok(Some("E1".into())));
        assert_eq!(installation(Some(""), None, false), Ok(None));
        assert!(installation(Some("T1'; drop"), None, false).is_err());
    }
}
