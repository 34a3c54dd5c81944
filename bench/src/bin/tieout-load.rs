//! tieout-load: the team server under load (issue 6). Readers page through differences
//! while a large import runs on the same tenant, and the latencies are reported.
//!
//! ```text
//! tieout-load URL TENANT PASSWORD USERS SECONDS_MIN -- FILE...
//! ```
//! Signs in USERS viewers (`viewer1@…` … created by `bench/load.sh`) and one clerk, starts
//! the readers (each: first page of /api/differences, then the next page by its cursor,
//! again and again), uploads FILE... (one import job per file, with a `store=` and
//! optional `mapping=` prefix: `store:acme-us:mapping:PATH:FILE`), waits for every job,
//! keeps reading for at least SECONDS_MIN, then stops the readers and prints one line:
//! `phase=load users=… requests=… errors=… p50_ms=… p99_ms=… max_ms=… import_seconds=…`.
//! Readers keep their connection alive, as browsers do; uploads use one connection each.
//! With TIEOUT_LOAD_RECONCILE=DATE it reconciles as of DATE after the imports (setup).
//! Loopback only; bounded in time (connections time out after 30 s).

#![allow(clippy::float_arithmetic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Response {
    status: u16,
    set_cookie: Option<String>,
    body: Vec<u8>,
}

fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(30))?;
    stream.set_read_timeout(Some(Duration::from_secs(600)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| std::io::Error::other("no HTTP head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let set_cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .map(|c| c.split(';').next().unwrap_or("").to_owned());
    let mut body = raw[split + 4..].to_vec();
    if head.to_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Ok(Response { status, set_cookie, body })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 || data.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[(end + 4 + size).min(data.len())..];
    }
    out
}

/// A reader's connection, kept alive between requests as a browser keeps it.
struct KeepAlive {
    address: SocketAddr,
    stream: Option<std::io::BufReader<TcpStream>>,
}

impl KeepAlive {
    /// GET `path`; returns the status and the body. Reconnects when the server closed.
    fn get(&mut self, path: &str, headers: &[(String, String)]) -> std::io::Result<(u16, Vec<u8>)> {
        use std::io::BufRead;
        for attempt in 0..2 {
            if self.stream.is_none() {
                let stream = TcpStream::connect_timeout(&self.address, Duration::from_secs(30))?;
                stream.set_read_timeout(Some(Duration::from_secs(60)))?;
                stream.set_nodelay(true)?;
                self.stream = Some(std::io::BufReader::new(stream));
            }
            let reader = self.stream.as_mut().expect("connected");
            let mut head = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", self.address);
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let sent = reader.get_mut().write_all(head.as_bytes());
            let mut status_line = String::new();
            let read = sent.and_then(|()| reader.read_line(&mut status_line));
            if read.is_err() || status_line.is_empty() {
                // The server closed an idle connection: once more on a new one.
                self.stream = None;
                if attempt == 0 {
                    continue;
                }
                return Err(std::io::Error::other("the server closed the connection"));
            }
            let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            let mut length = 0usize;
            let mut chunked = false;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line)?;
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(value) = lower.strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                    chunked = true;
                }
            }
            let mut body = vec![0u8; length];
            if chunked {
                body.clear();
                loop {
                    let mut size = String::new();
                    reader.read_line(&mut size)?;
                    let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                    let mut chunk = vec![0u8; size + 2];
                    reader.read_exact(&mut chunk)?;
                    if size == 0 {
                        break;
                    }
                    body.extend_from_slice(&chunk[..size]);
                }
            } else {
                reader.read_exact(&mut body)?;
            }
            return Ok((status, body));
        }
        Err(std::io::Error::other("unreachable"))
    }
}

/// The `next_cursor` of a page, found without parsing the whole page (the load generator
/// shares the machine's two cores with the server: it must cost little).
fn next_cursor(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let at = text.rfind("\"next_cursor\":")? + "\"next_cursor\":".len();
    let rest = text[at..].trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

struct Session {
    headers: Vec<(String, String)>,
}

fn login(address: SocketAddr, tenant: &str, email: &str, password: &str) -> Session {
    let body = format!(r#"{{"tenant":"{tenant}","email":"{email}","password":"{password}"}}"#);
    let headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    let response = request(address, "POST", "/api/login", &headers, body.as_bytes()).expect("sign in");
    assert_eq!(response.status, 200, "sign-in of {email}: {}", String::from_utf8_lossy(&response.body));
    let json: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
    Session {
        headers: vec![
            ("Cookie".to_owned(), response.set_cookie.expect("a cookie")),
            ("X-CSRF-Token".to_owned(), json["csrf_token"].as_str().unwrap_or("").to_owned()),
        ],
    }
}

fn upload(address: SocketAddr, session: &Session, spec: &str) -> i64 {
    // store:NAME[:mapping:PATH]:FILE
    let parts: Vec<&str> = spec.split(':').collect();
    let (store, mapping, file) = match parts.as_slice() {
        ["store", store, "mapping", mapping, file] => (*store, Some(*mapping), *file),
        ["store", store, file] => (*store, None, *file),
        _ => panic!("upload spec '{spec}': store:NAME[:mapping:PATH]:FILE"),
    };
    let boundary = "tieout-load-boundary";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"store\"\r\n\r\n{store}\r\n").into_bytes();
    let mut part = |name: &str, path: &str| {
        let file_name = std::path::Path::new(path).file_name().unwrap().to_string_lossy().into_owned();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&std::fs::read(path).expect("readable file"));
        body.extend_from_slice(b"\r\n");
    };
    if let Some(mapping) = mapping {
        part("mapping", mapping);
    }
    part("file", file);
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut headers = session.headers.clone();
    headers.push(("Content-Type".to_owned(), format!("multipart/form-data; boundary={boundary}")));
    let response = request(address, "POST", "/api/uploads", &headers, &body).expect("upload");
    assert_eq!(response.status, 202, "upload {file}: {}", String::from_utf8_lossy(&response.body));
    let json: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
    json["id"].as_i64().expect("a job id")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let split = args
        .iter()
        .position(|a| a == "--")
        .expect("usage: tieout-load URL TENANT PASSWORD USERS SECONDS_MIN -- FILE...");
    let [_, url, tenant, password, users, seconds_min] = &args[..split] else {
        panic!("usage: tieout-load URL TENANT PASSWORD USERS SECONDS_MIN -- FILE...")
    };
    let address: SocketAddr =
        url.trim_start_matches("http://").trim_end_matches('/').parse().expect("URL http://127.0.0.1:PORT");
    let users: usize = users.parse().expect("USERS");
    let seconds_min: u64 = seconds_min.parse().expect("SECONDS_MIN");
    let files = &args[split + 1..];

    let sessions: Vec<Session> =
        (1..=users).map(|n| login(address, tenant, &format!("viewer{n}@{tenant}.test"), password)).collect();
    let clerk = login(address, tenant, &format!("clerk@{tenant}.test"), password);
    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::<u32>::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let readers: Vec<_> = sessions
        .into_iter()
        .map(|session| {
            let (stop, latencies, errors) = (stop.clone(), latencies.clone(), errors.clone());
            std::thread::spawn(move || {
                let mut connection = KeepAlive { address, stream: None };
                let mut cursor: Option<String> = None;
                while !stop.load(Ordering::Relaxed) {
                    let path = match &cursor {
                        Some(c) => format!("/api/differences?limit=50&cursor={c}"),
                        None => "/api/differences?limit=50".to_owned(),
                    };
                    let started = Instant::now();
                    let result = connection.get(&path, &session.headers);
                    let micros = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
                    latencies.lock().unwrap().push(micros);
                    match result {
                        Ok((200, body)) => {
                            // Next page, then back to the first (a reader skimming).
                            cursor = match cursor {
                                Some(_) => None,
                                None => next_cursor(&body),
                            };
                        }
                        Ok((status, body)) => {
                            errors.lock().unwrap().push(format!("{status} {}", String::from_utf8_lossy(&body)));
                            cursor = None;
                        }
                        Err(error) => {
                            errors.lock().unwrap().push(error.to_string());
                            cursor = None;
                        }
                    }
                }
            })
        })
        .collect();

    let started = Instant::now();
    let jobs: Vec<i64> = files.iter().map(|spec| upload(address, &clerk, spec)).collect();
    for job in &jobs {
        loop {
            let response = request(address, "GET", &format!("/api/jobs/{job}"), &clerk.headers, b"").expect("job");
            let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
            match json["state"].as_str() {
                Some("succeeded") => {
                    assert_eq!(json["result"]["refused"], 0, "a file was refused: {json}");
                    break;
                }
                Some("failed") => panic!("job {job} failed: {json}"),
                _ => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }
    let import_seconds = started.elapsed().as_secs_f64();
    // Setup runs (USERS 0) reconcile what they imported, so that there are differences to read.
    if let Ok(as_of) = std::env::var("TIEOUT_LOAD_RECONCILE") {
        let mut headers = clerk.headers.clone();
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        let body = format!(r#"{{"as_of":"{as_of}"}}"#);
        let response = request(address, "POST", "/api/reconcile", &headers, body.as_bytes()).expect("reconcile");
        assert_eq!(response.status, 202, "{}", String::from_utf8_lossy(&response.body));
        let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
        let job = json["id"].as_i64().expect("a job id");
        loop {
            let response = request(address, "GET", &format!("/api/jobs/{job}"), &clerk.headers, b"").expect("job");
            let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
            match json["state"].as_str() {
                Some("succeeded") => break,
                Some("failed") => panic!("reconcile failed: {json}"),
                _ => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }
    while started.elapsed() < Duration::from_secs(seconds_min) {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.join().expect("reader");
    }
    let mut latencies = latencies.lock().unwrap().clone();
    latencies.sort_unstable();
    let percentile = |p: usize| {
        latencies.get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1))).copied().unwrap_or(0) as f64
            / 1000.0
    };
    let errors = errors.lock().unwrap();
    for error in errors.iter().take(5) {
        eprintln!("error: {error}");
    }
    println!(
        "phase=load users={users} requests={} errors={} p50_ms={:.1} p99_ms={:.1} max_ms={:.1} import_seconds={import_seconds:.1} seconds={:.1}",
        latencies.len(),
        errors.len(),
        percentile(50),
        percentile(99),
        latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
        started.elapsed().as_secs_f64()
    );
}
