//! E-mail delivery: a minimal SMTP client (RFC 5321) for a local relay.
//!
//! One session per message: the greeting, `EHLO` (or `HELO` when a very old relay refuses
//! it), `MAIL FROM`, one `RCPT TO` per recipient, `DATA` with the message (lines ended by
//! CRLF, a line starting with `.` doubled — dot-stuffing — and the lone `.` that ends
//! it), `QUIT`. The message is plain text in UTF-8, sent as 8bit (declared with
//! `BODY=8BITMIME` when the relay offers it); a subject that is not ASCII is an RFC 2047
//! encoded word.
//!
//! Decisions: **no STARTTLS and no AUTH** — tieout has no TLS stack yet, and a password
//! sent without TLS would be readable on the way. Alerts go to a relay the deployment
//! runs (Postfix, an MTA sidecar, a provider's relay reached through a tunnel) that
//! accepts mail from the server's address and forwards it over TLS with its own
//! credentials. A recipient the relay refuses fails the whole attempt (it is retried with
//! every recipient; a relay refusing one address for good is a configuration to fix).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A reply's lines are read up to this many (a multi-line EHLO answer is a dozen).
const REPLY_LINES_MAX: usize = 100;
/// A line of the message is cut into pieces of at most this many bytes (SMTP's limit is
/// 1000 with the CRLF).
const LINE_BYTES_MAX: usize = 900;

/// A plain-text message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    /// Unix seconds, for the Date header (the caller's clock).
    pub date: i64,
    pub message_id: String,
    /// Extra headers (`X-Tieout-Event` …), names and values.
    pub headers: Vec<(String, String)>,
    /// The text, lines separated by `\n` or `\r\n`.
    pub body: String,
}

/// A header value on one line: control characters (CR and LF above all, which would
/// start a header of the sender's choosing) become spaces.
fn header_value(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for (index, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            out.push(if index <= chunk.len() { BASE64[((n >> shift) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// The Subject header's value: as is when ASCII, else RFC 2047 encoded words (UTF-8,
/// base64) of at most 45 bytes of text each, folded onto continuation lines.
pub fn encode_subject(subject: &str) -> String {
    let subject = header_value(subject);
    if subject.is_ascii() {
        return subject;
    }
    let mut words = Vec::new();
    let mut piece = String::new();
    for c in subject.chars() {
        if piece.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", base64(piece.as_bytes())));
            piece.clear();
        }
        piece.push(c);
    }
    if !piece.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64(piece.as_bytes())));
    }
    words.join("\r\n ")
}

/// The lines of `text` cut to [`LINE_BYTES_MAX`] bytes (at character boundaries).
fn short_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    for line in text.split('\n') {
        let mut rest = line.strip_suffix('\r').unwrap_or(line);
        while rest.len() > LINE_BYTES_MAX {
            let mut cut = LINE_BYTES_MAX;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            lines.push(&rest[..cut]);
            rest = &rest[cut..];
        }
        lines.push(rest);
    }
    lines
}

/// The message as DATA sends it: headers, a blank line, the body; every line ended by
/// CRLF and dot-stuffed; without the final `.` line.
pub fn data(message: &Message) -> String {
    let date = chrono::DateTime::from_timestamp(message.date, 0).unwrap_or_default().to_rfc2822();
    let mut text = format!(
        "Date: {date}\r\nFrom: {}\r\nTo: {}\r\nSubject: {}\r\nMessage-ID: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
        header_value(&message.from),
        header_value(&message.to.join(", ")),
        encode_subject(&message.subject),
        header_value(&message.message_id),
    );
    for (name, value) in &message.headers {
        text.push_str(&format!("{}: {}\r\n", header_value(name), header_value(value)));
    }
    text.push_str("\r\n");
    for line in short_lines(&message.body) {
        if line.starts_with('.') {
            text.push('.');
        }
        text.push_str(line);
        text.push_str("\r\n");
    }
    text
}

struct Session {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Session {
    /// Reads one reply (its lines `250-…` up to `250 …`): the code and the lines' text.
    fn reply(&mut self) -> Result<(u16, Vec<String>), String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let read = self.reader.read_line(&mut line).map_err(|error| super::webhook::io_error("reading", &error))?;
            if read == 0 {
                return Err("the relay closed the connection".to_owned());
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| format!("not an SMTP reply: '{}'", line.chars().take(80).collect::<String>()))?;
            lines.push(line.get(4..).unwrap_or("").to_owned());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, lines));
            }
            if lines.len() > REPLY_LINES_MAX {
                return Err("the relay's reply is too long".to_owned());
            }
        }
    }

    /// Sends `command` and reads the reply, which must have one of `expected` codes.
    fn command(&mut self, command: &str, expected: &[u16]) -> Result<Vec<String>, String> {
        self.writer
            .write_all(format!("{command}\r\n").as_bytes())
            .map_err(|error| super::webhook::io_error("sending", &error))?;
        self.expect(command, expected)
    }

    fn expect(&mut self, what: &str, expected: &[u16]) -> Result<Vec<String>, String> {
        let (code, lines) = self.reply()?;
        if expected.contains(&code) {
            Ok(lines)
        } else {
            let verb = what.split(':').next().unwrap_or(what).split(' ').next().unwrap_or(what);
            Err(format!("the relay answered {verb} with {code} {}", lines.join(" ").trim()))
        }
    }
}

/// Sends `message` through the relay at `server` (`host:port`). `Ok(())` once the relay
/// accepted the message for every recipient.
pub fn send(server: &str, message: &Message, timeout: Duration) -> Result<(), String> {
    let (host, port) = server.rsplit_once(':').ok_or_else(|| format!("'{server}' is not host:port"))?;
    let port: u16 = port.parse().map_err(|_| format!("'{server}': '{port}' is not a port"))?;
    let stream = super::webhook::connect(host, port, timeout)?;
    // EHLO names the client by its address literal (it has no name it could prove).
    let client = match stream.local_addr() {
        Ok(std::net::SocketAddr::V4(address)) => format!("[{}]", address.ip()),
        Ok(std::net::SocketAddr::V6(address)) => format!("[IPv6:{}]", address.ip()),
        Err(_) => "[127.0.0.1]".to_owned(),
    };
    let writer = stream.try_clone().map_err(|error| super::webhook::io_error("connecting", &error))?;
    let mut session = Session { reader: BufReader::new(stream), writer };
    session.expect("the greeting", &[220])?;
    let extensions = match session.command(&format!("EHLO {client}"), &[250]) {
        Ok(lines) => lines,
        Err(_) => session.command(&format!("HELO {client}"), &[250])?,
    };
    let eight_bit = extensions.iter().any(|line| line.trim().eq_ignore_ascii_case("8BITMIME"));
    let body = if eight_bit { " BODY=8BITMIME" } else { "" };
    session.command(&format!("MAIL FROM:<{}>{body}", header_value(&message.from)), &[250])?;
    for recipient in &message.to {
        session.command(&format!("RCPT TO:<{}>", header_value(recipient)), &[250, 251])?;
    }
    session.command("DATA", &[354])?;
    let mut text = data(message);
    text.push_str(".\r\n");
    session.writer.write_all(text.as_bytes()).map_err(|error| super::webhook::io_error("sending", &error))?;
    session.expect("DATA", &[250])?;
    // The message is accepted: a relay that does not answer QUIT changes nothing.
    let _ = session.command("QUIT", &[221]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_encodes_as_rfc_4648_says() {
        for (plain, encoded) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn a_subject_that_is_not_ascii_is_encoded_words_and_no_header_can_be_injected() {
        assert_eq!(encode_subject("[tieout] Payout missing"), "[tieout] Payout missing");
        assert_eq!(encode_subject("a\r\nBcc: x@example.com"), "a  Bcc: x@example.com");
        let encoded = encode_subject("[tieout] 转账未到账：店铺 acme-de 的结算 1234567890 逾期未到账，请核对银行流水");
        assert!(encoded.starts_with("=?UTF-8?B?") && encoded.contains("?=\r\n =?UTF-8?B?"), "{encoded}");
        assert!(encoded.split("\r\n ").all(|word| word.len() <= 75), "{encoded}");
    }

    #[test]
    fn data_ends_lines_with_crlf_and_doubles_a_leading_dot() {
        let message = Message {
            from: "tieout@acme.example".to_owned(),
            to: vec!["ops@acme.example".to_owned(), "财务@acme.example".to_owned()],
            subject: "[tieout] Test".to_owned(),
            date: 1_790_000_000,
            message_id: "<1.acme@tieout>".to_owned(),
            headers: vec![("X-Tieout-Event".to_owned(), "payout_missing".to_owned())],
            body: "first\n.hidden\r\n..two\n.\nlast".to_owned(),
        };
        let text = data(&message);
        assert!(text.starts_with("Date: Mon, 21 Sep 2026 14:13:20 +0000\r\n"), "{text}");
        assert!(text.contains("\r\nTo: ops@acme.example, 财务@acme.example\r\n"));
        assert!(text.contains("\r\nX-Tieout-Event: payout_missing\r\n"));
        assert!(text.ends_with("\r\n\r\nfirst\r\n..hidden\r\n...two\r\n..\r\nlast\r\n"), "{text}");
        assert!(!text.replace("\r\n", "").contains('\n'), "every line ends with CRLF");
        let long = "é".repeat(1000);
        let lines = short_lines(&long);
        assert!(lines.iter().all(|l| l.len() <= LINE_BYTES_MAX) && lines.concat() == long);
    }
}
