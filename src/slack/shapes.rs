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

/// Text as deskhand keeps it: a NUL character (which PostgreSQL's text cannot hold) becomes
/// U+FFFD, on both databases alike. Applied to a stored payload before it is read, where a
/// NUL can only appear as the JSON escape `\u0000`.
pub fn without_nul_escapes(json: &str) -> std::borrow::Cow<'_, str> {
    if json.contains("\\u0000") {
        std::borrow::Cow::Owned(json.replace("\\u0000", "\\ufffd"))
    } else {
        std::borrow::Cow::Borrowed(json)
    }
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
        assert_eq!(without_nul_escapes(r#"{"text":"a\u0000b"}"#), r#"{"text":"a\ufffdb"}"#);
        let read: serde_json::Value = serde_json::from_str(&without_nul_escapes(r#"{"text":"a\u0000b"}"#)).unwrap();
        assert_eq!(read["text"], "a\u{fffd}b");
        assert!(matches!(without_nul_escapes("{}"), std::borrow::Cow::Borrowed(_)));
    }
}
