//! An SMTP sink on 127.0.0.1: it speaks enough SMTP (RFC 5321, no TLS, no auth) to take
//! mail, and keeps what it took.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One message as the sink took it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, as sent.
    pub data: String,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    mail: Arc<Mutex<Vec<Mail>>>,
    arrived: Arc<Notify>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let port = listener.local_addr().expect("address").port();
        let sink = SmtpSink {
            port,
            mail: Arc::default(),
            arrived: Arc::default(),
        };
        let serving = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sink = serving.clone();
                tokio::spawn(async move {
                    let _ = sink.session(stream).await;
                });
            }
        });
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn mail(&self) -> Vec<Mail> {
        self.mail.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Wait until `count` messages have arrived (at most 10 s).
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let arrived = self.arrived.notified();
            let mail = self.mail();
            if mail.len() >= count {
                return mail;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("{count} mail(s) expected, {} arrived: {mail:?}", mail.len());
            }
        }
    }

    async fn session(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 sink ESMTP\r\n").await?;
        let (mut from, mut to) = (String::new(), Vec::new());
        while let Some(line) = lines.next_line().await? {
            let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
            let answer: &[u8] = match verb.as_str() {
                "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                "HELO" | "RSET" | "NOOP" => b"250 ok\r\n",
                "MAIL" => {
                    from = address(&line);
                    b"250 ok\r\n"
                }
                "RCPT" => {
                    to.push(address(&line));
                    b"250 ok\r\n"
                }
                "DATA" => {
                    write.write_all(b"354 go on\r\n").await?;
                    let mut data = String::new();
                    while let Some(line) = lines.next_line().await? {
                        if line == "." {
                            break;
                        }
                        data.push_str(line.strip_prefix('.').unwrap_or(&line));
                        data.push('\n');
                    }
                    let mail = Mail {
                        from: std::mem::take(&mut from),
                        to: std::mem::take(&mut to),
                        data,
                    };
                    self.mail.lock().unwrap_or_else(|p| p.into_inner()).push(mail);
                    self.arrived.notify_waiters();
                    b"250 taken\r\n"
                }
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await?;
                    return Ok(());
                }
                _ => b"502 not here\r\n",
            };
            write.write_all(answer).await?;
        }
        Ok(())
    }
}

/// The address in `MAIL FROM:<a@b>` or `RCPT TO:<a@b>`.
fn address(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line.rfind('>').unwrap_or(line.len());
    line.get(start..end).unwrap_or_default().to_owned()
}
