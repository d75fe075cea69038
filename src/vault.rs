//! Secrets at rest: what deskhand must keep but never show (workspaces' bot tokens) is
//! sealed with XChaCha20-Poly1305 under `DESKHAND_SECRET_KEY` before it is stored.
//!
//! The setting is one or more keys, `ID:BASE64`, separated by commas
//! (`k2:…,k1:…`): the first seals, every one opens. A sealed value names its key
//! (`v1.k2.<base64 of nonce and ciphertext>`), so a new key can be put first while the old
//! one still opens what it sealed. Each value is bound to what it is for (the associated
//! data, such as `slack-bot-token:T0123`), so a sealed value copied onto another row does
//! not open there.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const VERSION: &str = "v1";
const NONCE_BYTES: usize = 24;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("DESKHAND_SECRET_KEY is invalid: {0}")]
    Key(String),
    #[error("a sealed value is damaged, or was sealed for something else")]
    Damaged,
    #[error("a sealed value names key {0:?}, which DESKHAND_SECRET_KEY no longer has")]
    UnknownKey(String),
}

#[derive(Clone)]
pub struct Vault {
    /// (id, cipher), the sealing key first.
    keys: Vec<(String, XChaCha20Poly1305)>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        write!(f, "Vault(keys {ids:?})")
    }
}

impl Vault {
    /// Read `ID:BASE64[,ID:BASE64…]`; each key is 32 random bytes
    /// (`openssl rand -base64 32`).
    pub fn parse(setting: &str) -> Result<Self, VaultError> {
        let mut keys = Vec::new();
        for part in setting.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((id, encoded)) = part.split_once(':') else {
                return Err(VaultError::Key(
                    "write each key as ID:BASE64, as k1:<openssl rand -base64 32>".into(),
                ));
            };
            if id.is_empty() || id.len() > 16 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(VaultError::Key(format!(
                    "{id:?} is not a key id (letters and digits, at most 16)"
                )));
            }
            let bytes = STANDARD
                .decode(encoded.trim())
                .map_err(|_| VaultError::Key(format!("key {id} is not base64")))?;
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
                .map_err(|_| VaultError::Key(format!("key {id} must be 32 bytes, not {}", bytes.len())))?;
            if keys.iter().any(|(known, _)| known == id) {
                return Err(VaultError::Key(format!("key id {id} is given twice")));
            }
            keys.push((id.to_owned(), cipher));
        }
        if keys.is_empty() {
            return Err(VaultError::Key("no key given".into()));
        }
        Ok(Self { keys })
    }

    /// Seal `secret` for `purpose` under the first key.
    pub fn seal(&self, secret: &str, purpose: &str) -> String {
        let (id, cipher) = &self.keys[0];
        let nonce = XNonce::generate();
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.as_bytes(),
                    aad: purpose.as_bytes(),
                },
            )
            .expect("sealing in memory cannot fail");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{VERSION}.{id}.{}", STANDARD.encode(bytes))
    }

    /// Open what [`Vault::seal`] sealed for `purpose`.
    pub fn open(&self, sealed: &str, purpose: &str) -> Result<String, VaultError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(id), Some(encoded)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(VaultError::Damaged);
        };
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(known, _)| known == id)
            .ok_or_else(|| VaultError::UnknownKey(id.to_owned()))?;
        let bytes = STANDARD.decode(encoded).map_err(|_| VaultError::Damaged)?;
        if bytes.len() <= NONCE_BYTES {
            return Err(VaultError::Damaged);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| VaultError::Damaged)?;
        let opened = cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Damaged)?;
        String::from_utf8(opened).map_err(|_| VaultError::Damaged)
    }

    /// Whether `sealed` was sealed with an older key than the first (worth sealing again).
    pub fn is_stale(&self, sealed: &str) -> bool {
        sealed.split('.').nth(1) != Some(self.keys[0].0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "k2:HxceHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

    #[test]
    fn a_sealed_token_opens_only_for_its_purpose_and_never_shows_itself() {
        let vault = Vault::parse(K1).unwrap();
        let sealed = vault.seal("xoxb-1-secret", "slack-bot-token:T1");
        assert!(sealed.starts_with("v1.k1.") && !sealed.contains("secret"), "{sealed}");
        assert_ne!(
            sealed,
            vault.seal("xoxb-1-secret", "slack-bot-token:T1"),
            "a fresh nonce each time"
        );
        assert_eq!(vault.open(&sealed, "slack-bot-token:T1").unwrap(), "xoxb-1-secret");
        assert_eq!(vault.open(&sealed, "slack-bot-token:T2"), Err(VaultError::Damaged));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(vault.open(&tampered, "slack-bot-token:T1"), Err(VaultError::Damaged));
        assert!(!format!("{vault:?}").contains("AAEC"));
    }

    #[test]
    fn a_new_key_first_seals_while_the_old_one_still_opens() {
        let old = Vault::parse(K1).unwrap();
        let sealed = old.seal("xoxb-old", "p");
        let rotated = Vault::parse(&format!("{K2},{K1}")).unwrap();
        assert_eq!(rotated.open(&sealed, "p").unwrap(), "xoxb-old");
        assert!(rotated.is_stale(&sealed));
        assert!(rotated.seal("x", "p").starts_with("v1.k2."));
        let without_old = Vault::parse(K2).unwrap();
        assert_eq!(without_old.open(&sealed, "p"), Err(VaultError::UnknownKey("k1".into())));
    }

    #[test]
    fn bad_keys_are_named() {
        for (setting, says) in [
            ("", "no key"),
            ("AAEC", "ID:BASE64"),
            ("k1:!!", "not base64"),
            ("k1:AAEC", "32 bytes"),
            (&format!("{K1},{K1}"), "twice"),
        ] {
            let err = Vault::parse(setting).unwrap_err().to_string();
            assert!(err.contains(says), "{setting}: {err}");
        }
    }
}
