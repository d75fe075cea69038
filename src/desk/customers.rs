//! Customers: people known by their email address, who may belong to organizations and
//! follow projects. Their addresses and names are checked here, and so is who may add an
//! address of a managed domain.

use super::config::{Field, Refusal};

/// The longest address mail allows (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;
/// The longest name of a customer or an organization.
pub const MAX_NAME: usize = 200;
/// The longest announcement.
pub const MAX_ANNOUNCEMENT: usize = 4000;

/// An email address, trimmed and in lower case, or why it is not one.
pub fn normalize_email(raw: &str) -> Result<String, Refusal> {
    let email = raw.trim().to_lowercase();
    let invalid = || Refusal::invalid(Field::Email, format!("{:?} is not an email address", raw.trim()));
    if email.is_empty() || email.len() > MAX_EMAIL || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err(invalid());
    };
    let local_ok = !local.is_empty() && !local.contains(['@', '<', '>', '(', ')', ',', ';', ':', '\\', '"', '[', ']']);
    if !local_ok || !is_domain(domain) {
        return Err(invalid());
    }
    Ok(email)
}

/// A mail domain: dot-separated labels of letters, digits and hyphens, at least two.
pub fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// The managed domains as an admin gave them: each checked, in lower case, once each.
pub fn normalize_domains(domains: Vec<String>) -> Result<Vec<String>, Refusal> {
    let mut out: Vec<String> = Vec::new();
    for domain in domains {
        let d = domain.trim().trim_start_matches('@').to_lowercase();
        if !is_domain(&d) {
            return Err(Refusal::invalid(
                Field::ManagedDomains,
                format!("managed_domains: {domain:?} is not a mail domain (as example.edu)"),
            ));
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// The managed domain `email` belongs to (the domain itself or one below it), if any.
pub fn managed_domain<'a>(email: &str, managed: &'a [String]) -> Option<&'a str> {
    let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
    managed
        .iter()
        .find(|m| domain == m.as_str() || domain.ends_with(&format!(".{m}")))
        .map(String::as_str)
}

/// Why an agent may not add `email`: its domain is managed, and only admins add people
/// from it. `admins`: how to reach the admins, as a reader should see them.
pub fn managed_refusal(email: &str, domain: &str, admins: &str) -> Refusal {
    Refusal::invalid(
        Field::Email,
        format!(
            "{email} is in {domain}, a managed domain: only a deskhand admin can add people from {domain}. \
             Ask {admins} to add them."
        ),
    )
}

/// A name as given (trimmed; empty is none), or why it cannot be one.
pub fn check_name(field: Field, name: Option<&str>) -> Result<Option<String>, Refusal> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Refusal::invalid(
            field,
            format!(
                "{}: at most {MAX_NAME} characters, without control characters",
                field.as_str()
            ),
        ));
    }
    Ok(Some(name.to_owned()))
}

/// An announcement's text, or why it cannot be sent.
pub fn check_announcement(text: &str) -> Result<String, Refusal> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_ANNOUNCEMENT || text.contains('\0') {
        return Err(Refusal::invalid(
            Field::Text,
            format!("text: write the announcement, at most {MAX_ANNOUNCEMENT} characters"),
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_kept_in_lower_case() {
        assert_eq!(
            normalize_email("  Ana.Lima@Example.EDU ").unwrap(),
            "ana.lima@example.edu"
        );
        assert_eq!(
            normalize_email("bo+help@mail.acme.example").unwrap(),
            "bo+help@mail.acme.example"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.edu",
            "ana@localhost",
            "a b@x.io",
            "ana@ex_ample.io",
            "a@-x.io",
            "a\0@x.io",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
        assert!(normalize_email(&format!("{}@x.io", "a".repeat(260))).is_err());
    }

    #[test]
    fn a_managed_domain_covers_its_subdomains_and_nothing_else() {
        let managed = normalize_domains(vec!["Example.EDU".into(), "@example.edu".into(), "acme.io".into()]).unwrap();
        assert_eq!(managed, ["example.edu", "acme.io"]);
        assert_eq!(managed_domain("ana@example.edu", &managed), Some("example.edu"));
        assert_eq!(managed_domain("ana@cs.example.edu", &managed), Some("example.edu"));
        assert_eq!(managed_domain("ana@notexample.edu", &managed), None);
        assert!(normalize_domains(vec!["not a domain".into()]).is_err());
        let refusal = managed_refusal("ana@example.edu", "example.edu", "<@U1>");
        assert!(
            refusal.message.contains("managed domain") && refusal.message.contains("<@U1>"),
            "{}",
            refusal.message
        );
    }

    #[test]
    fn names_and_announcements_have_limits() {
        assert_eq!(
            check_name(Field::Name, Some("  Ana  ")).unwrap().as_deref(),
            Some("Ana")
        );
        assert_eq!(check_name(Field::Name, Some("  ")).unwrap(), None);
        assert!(check_name(Field::Name, Some("a\u{7}b")).is_err());
        assert!(check_name(Field::Name, Some(&"x".repeat(201))).is_err());
        assert!(check_announcement(" ").is_err());
        assert_eq!(
            check_announcement(" Maintenance tonight ").unwrap(),
            "Maintenance tonight"
        );
    }
}
