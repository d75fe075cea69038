//! Mail to managers through SMTP (`DESKHAND_SMTP_URL`): the one email sender.

use lettre::message::Mailbox;
use lettre::transport::smtp::Error as SmtpError;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How one message fared.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth trying again: the server is away or said "try later" (4xx).
    #[error("mail server unavailable: {0}")]
    Transient(String),
    /// It will never go: a refused address, a message the server will not take.
    #[error("mail refused: {0}")]
    Permanent(String),
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for `url` (`smtp://host:port` in the clear, `smtps://` with TLS,
    /// credentials in the URL's user info), sending as `from`.
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        Ok(Self {
            transport,
            from: from.parse()?,
        })
    }

    /// Send one message. With `reply_token`, its `Reply-To` is deskhand's own address
    /// plus-addressed with it (`desk::participants::reply_address`), so a reply comes back to the ticket.
    pub async fn send(&self, to: &str, subject: &str, body: &str, reply_token: Option<&str>) -> Result<(), MailError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| MailError::Permanent(format!("address {to:?}: {e}")))?;
        let mut message = Message::builder().from(self.from.clone());
        if let Some(token) = reply_token {
            let address = crate::desk::participants::reply_address(self.from.email.as_ref(), token);
            let reply_to: Mailbox = address
                .parse()
                .map_err(|e| MailError::Permanent(format!("reply address {address:?}: {e}")))?;
            message = message.reply_to(reply_to);
        }
        let message = message
            .to(to)
            .subject(subject)
            .body(body.to_owned())
            .map_err(|e| MailError::Permanent(e.to_string()))?;
        self.transport.send(message).await.map(|_| ()).map_err(classify)
    }
}

fn classify(e: SmtpError) -> MailError {
    if e.is_permanent() {
        MailError::Permanent(e.to_string())
    } else {
        MailError::Transient(e.to_string())
    }
}
