//! Webhook delivery: an alert as JSON, POSTed over plain HTTP/1.1 and signed with
//! HMAC-SHA256.
//!
//! The request carries `X-Tieout-Event` (the alert's kind), `X-Tieout-Delivery` (the
//! delivery's id, the same on every retry: a receiver drops what it has seen),
//! `X-Tieout-Timestamp` (Unix seconds of the attempt) and `X-Tieout-Signature:
//! sha256=HEX`, the HMAC-SHA256 under the webhook's secret of `TIMESTAMP.BODY` (the
//! timestamp, a full stop, the body's bytes). A receiver recomputes it ([`verify`]) and
//! refuses a stale timestamp, so a captured request cannot be replayed later.
//!
//! Decisions:
//! - **HMAC over the workspace's SHA-256** ([`hmac_sha256`], RFC 2104, tested against
//!   RFC 4231) rather than the `hmac` crate: fifteen lines against a dependency and its
//!   compile time.
//! - **`http://` only.** tieout has no TLS stack yet (no rustls, no OpenSSL): an
//!   `https://` URL is refused when the configuration is saved, with the way out — a
//!   local relay (a reverse proxy or a small forwarder on the same host or network) that
//!   tieout reaches over `http://` and that forwards over HTTPS.
//! - **A small client over `std::net::TcpStream`**: one request per connection
//!   (`Connection: close`), timeouts on connect, write and read; only the status line of
//!   the answer is read. A 2xx status is delivered; anything else, or no answer in time,
//!   is a failed attempt.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The prefix of a signature header's value.
pub const SIGNATURE_PREFIX: &str = "sha256=";

/// An answer's status line is read up to this many bytes.
const STATUS_LINE_BYTES_MAX: usize = 8 * 1024;

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK_BYTES: usize = 64;
    let mut block = [0u8; BLOCK_BYTES];
    if key.len() > BLOCK_BYTES {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|byte| byte ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|byte| byte ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `X-Tieout-Signature` value of `body` sent at `timestamp` under `secret`:
/// `sha256=` and the hex HMAC-SHA256 of `TIMESTAMP.BODY`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    format!("{SIGNATURE_PREFIX}{}", hex(&hmac_sha256(secret.as_bytes(), &message)))
}

/// Whether `header` (an `X-Tieout-Signature` value) signs `body` at `timestamp` under
/// `secret`; compared in constant time. What a receiver does (it also checks that the
/// timestamp is recent).
pub fn verify(secret: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let expected = signature(secret, timestamp, body);
    expected.len() == header.len() && expected.bytes().zip(header.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// A webhook's `http://` URL, taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// The path and query, `/` at least.
    pub target: String,
}

impl Url {
    /// Reads an `http://host[:port][/path][?query]` URL; the error says what is wrong in
    /// a sentence (an `https://` URL: that tieout has no TLS yet, and to use a relay).
    pub fn parse(text: &str) -> Result<Url, String> {
        if text.len() > super::URL_LENGTH_MAX {
            return Err(format!("a webhook URL has at most {} characters", super::URL_LENGTH_MAX));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("a webhook URL has no spaces or control characters".to_owned());
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("https://") {
            return Err(format!(
                "'{text}': https:// is not supported — tieout has no TLS stack yet. Point the webhook at a local \
                 relay over http:// (a reverse proxy or forwarder on this host or network, e.g. \
                 http://127.0.0.1:8080/…) that forwards it over HTTPS"
            ));
        }
        let Some(rest) = lower.starts_with("http://").then(|| &text["http://".len()..]) else {
            return Err(format!("'{text}' is not an http:// URL"));
        };
        let (authority, target) = match rest.find(['/', '?']) {
            Some(at) if rest[at..].starts_with('?') => (&rest[..at], format!("/{}", &rest[at..])),
            Some(at) => (&rest[..at], rest[at..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let target = target.split('#').next().unwrap_or("/").to_owned();
        if authority.contains('@') {
            return Err(format!("'{text}': credentials in a webhook URL are not supported; sign with the secret"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                let port: u16 =
                    port.parse().ok().filter(|p| *p > 0).ok_or_else(|| format!("'{text}': '{port}' is not a port"))?;
                (host, port)
            }
            _ => (authority, 80),
        };
        if host.is_empty() {
            return Err(format!("'{text}' names no host"));
        }
        Ok(Url { host: host.to_owned(), port, target })
    }

    /// `host` or `host:port` for the Host header.
    fn host_header(&self) -> String {
        if self.port == 80 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// One signed POST of `body` to `url`. `Ok(())` on a 2xx answer; otherwise the error
/// says what happened (`HTTP 500 Internal Server Error`, a connection refused, a
/// timeout).
pub fn post(
    url: &Url,
    secret: &str,
    event: &str,
    delivery_id: i64,
    timestamp: i64,
    body: &[u8],
    timeout: Duration,
) -> Result<(), String> {
    let stream = connect(&url.host, url.port, timeout)?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: tieout/{}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\nX-Tieout-Event: {event}\r\nX-Tieout-Delivery: {delivery_id}\r\n\
         X-Tieout-Timestamp: {timestamp}\r\nX-Tieout-Signature: {}\r\n\r\n",
        url.target,
        url.host_header(),
        env!("CARGO_PKG_VERSION"),
        body.len(),
        signature(secret, timestamp, body),
    );
    let mut stream = stream;
    let sent = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body)).and_then(|()| stream.flush());
    sent.map_err(|error| io_error("sending", &error))?;
    let status_line = read_status_line(&mut stream)?;
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let code: u16 = match (version.starts_with("HTTP/1."), code.parse()) {
        (true, Ok(code)) => code,
        _ => return Err(format!("not an HTTP answer: '{}'", status_line.chars().take(80).collect::<String>())),
    };
    if (200..300).contains(&code) {
        Ok(())
    } else {
        Err(format!("HTTP {}", status_line.split_once(' ').map_or("", |(_, rest)| rest).trim()))
    }
}

/// Connects to the first address of `host:port` that answers within `timeout`, with
/// reads and writes limited to `timeout` too.
pub(super) fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses = (bare, port).to_socket_addrs().map_err(|error| format!("{host}: {error}"))?;
    let mut last = format!("{host}: no address");
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => {
                stream.set_read_timeout(Some(timeout)).map_err(|error| io_error("configuring", &error))?;
                stream.set_write_timeout(Some(timeout)).map_err(|error| io_error("configuring", &error))?;
                return Ok(stream);
            }
            Err(error) => last = format!("connecting to {address}: {}", describe(&error)),
        }
    }
    Err(last)
}

fn describe(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "timed out".to_owned(),
        _ => error.to_string(),
    }
}

pub(super) fn io_error(doing: &str, error: &std::io::Error) -> String {
    format!("{doing}: {}", describe(error))
}

fn read_status_line(stream: &mut TcpStream) -> Result<String, String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buffer.windows(2).position(|w| w == b"\r\n") {
            return Ok(String::from_utf8_lossy(&buffer[..end]).into_owned());
        }
        if buffer.len() > STATUS_LINE_BYTES_MAX {
            return Err("the answer's status line is too long".to_owned());
        }
        match stream.read(&mut chunk) {
            Ok(0) if buffer.is_empty() => return Err("the connection closed without an answer".to_owned()),
            Ok(0) => return Ok(String::from_utf8_lossy(&buffer).into_owned()),
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(error) => return Err(io_error("waiting for the answer", &error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // Test cases 1, 2, 4 and 6 (a key longer than the block is hashed first).
        let cases: [(Vec<u8>, Vec<u8>, &str); 4] = [
            (vec![0x0b; 20], b"Hi There".to_vec(), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, message, expected) in cases {
            assert_eq!(hex(&hmac_sha256(&key, &message)), expected);
        }
    }

    #[test]
    fn a_signature_verifies_under_its_secret_only() {
        let body = br#"{"id":"run-1/payout_missing/payout:7"}"#;
        let header = signature("a secret of twenty chars", 1_790_000_000, body);
        assert!(header.starts_with("sha256=") && header.len() == 7 + 64);
        assert!(verify("a secret of twenty chars", 1_790_000_000, body, &header));
        assert!(!verify("another secret, wrong", 1_790_000_000, body, &header));
        assert!(!verify("a secret of twenty chars", 1_790_000_001, body, &header), "the timestamp is signed");
        assert!(!verify("a secret of twenty chars", 1_790_000_000, b"{}", &header));
        assert!(!verify("a secret of twenty chars", 1_790_000_000, body, "sha256=00"));
    }

    #[test]
    fn urls_are_http_with_a_host_and_https_names_the_relay() {
        let url = Url::parse("http://127.0.0.1:8080/hooks/tieout?team=ops").unwrap();
        assert_eq!((url.host.as_str(), url.port, url.target.as_str()), ("127.0.0.1", 8080, "/hooks/tieout?team=ops"));
        assert_eq!(url.host_header(), "127.0.0.1:8080");
        let url = Url::parse("HTTP://relay.internal").unwrap();
        assert_eq!((url.host.as_str(), url.port, url.target.as_str()), ("relay.internal", 80, "/"));
        assert_eq!(Url::parse("http://relay?x=1").unwrap().target, "/?x=1");
        assert_eq!(Url::parse("http://[::1]:9000/a#frag").unwrap().host, "[::1]");
        let https = Url::parse("https://hooks.example.com/x").unwrap_err();
        assert!(https.contains("https:// is not supported") && https.contains("relay"), "{https}");
        for bad in ["ftp://x/", "http://", "http://:80/", "http://host:0/", "http://host:99999/", "http://a b/"] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
        assert!(Url::parse("http://user:pass@host/").unwrap_err().contains("credentials"));
    }
}
