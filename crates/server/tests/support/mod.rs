//! A server on a real loopback socket, a minimal HTTP/1.1 client, and the demo data the
//! tests upload.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tieout_server::{AppState, Clock};
use tieout_service::backend::Backend;
use tieout_service::config::Settings;
use tieout_service::jobs::JobSettings;
use tieout_service::rules::ReceiptRules;
use tieout_service::team;

pub const PASSWORD: &str = "correct horse battery";
pub const START: i64 = 1_790_000_000;

pub struct TestServer {
    pub address: SocketAddr,
    pub backend: Arc<Backend>,
    pub now: Arc<AtomicI64>,
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database URL and the schema this server's tables are in.
    postgres_schema: Option<(String, String)>,
    _runtime: tokio::runtime::Runtime,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some((url, schema)) = &self.postgres_schema {
            if let Ok(mut client) = postgres::Client::connect(url, postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

impl TestServer {
    /// A server over a fresh SQLite data directory, with one job worker.
    pub fn start(settings: Settings, settings_text: &str, upload_bytes_max: usize) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let backend = Backend::sqlite(dir.path()).unwrap();
        TestServer::start_on(backend, dir, settings, settings_text, upload_bytes_max)
    }

    /// A server over a fresh schema of the test PostgreSQL database
    /// (TIEOUT_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).
    pub fn start_postgres(settings: Settings, settings_text: &str, upload_bytes_max: usize) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let url = std::env::var("TIEOUT_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        static NEXT: AtomicI64 = AtomicI64::new(0);
        let schema = format!("tieout_api_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .expect("PostgreSQL at TIEOUT_TEST_DATABASE_URL (CI starts it; see .ci/run)");
        client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")).unwrap();
        let separator = if url.contains('?') { '&' } else { '?' };
        let schema_url = format!("{url}{separator}options=-csearch_path%3D{schema}");
        let backend =
            Backend::postgres(&schema_url, &tieout_service::PgSchemaOptions::default(), &dir.path().join("work"))
                .unwrap();
        let mut server = TestServer::start_on(backend, dir, settings, settings_text, upload_bytes_max);
        server.postgres_schema = Some((url, schema));
        server
    }

    fn start_on(
        backend: Backend,
        dir: tempfile::TempDir,
        settings: Settings,
        settings_text: &str,
        upload_bytes_max: usize,
    ) -> TestServer {
        let backend = Arc::new(backend);
        let now = Arc::new(AtomicI64::new(START));
        let clock_now = now.clone();
        let clock: Clock = Arc::new(move || clock_now.load(Ordering::SeqCst));
        let state = AppState {
            backend: backend.clone(),
            clock,
            settings: Arc::new(JobSettings {
                settings,
                settings_text: settings_text.to_owned(),
                rules: ReceiptRules::built_in(),
            }),
            upload_bytes_max,
            secure_cookies: false,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let address = listener.local_addr().unwrap();
        runtime.spawn(tieout_server::serve(listener, state, 1, std::future::pending()));
        TestServer { address, backend, now, dir, postgres_schema: None, _runtime: runtime }
    }

    pub fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }

    /// A tenant with one user per role: `viewer@SLUG.test` … `admin@SLUG.test`.
    pub fn tenant(&self, slug: &str) -> i64 {
        let mut control = self.backend.control().unwrap();
        let tenant = team::create_tenant(control.as_mut(), slug, &format!("Tenant {slug}"), START).unwrap();
        for role in team::Role::ALL {
            let email = format!("{}@{slug}.test", role.name());
            team::add_user(control.as_mut(), tenant.id, &email, role.name(), role.name(), PASSWORD, START).unwrap();
        }
        tenant.id
    }

    pub fn client(&self) -> Client {
        Client { address: self.address, cookie: None, csrf: None, bearer: None }
    }

    /// A client signed in as `ROLE@SLUG.test`.
    pub fn signed_in(&self, slug: &str, role: &str) -> Client {
        let mut client = self.client();
        let response = client.login(slug, &format!("{role}@{slug}.test"), PASSWORD);
        assert_eq!(response.status, 200, "{}", response.text());
        client
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_lowercase()).map(String::as_str)
    }

    /// An error answer must be RFC 9457 problem details with this status.
    pub fn assert_problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{}", self.text());
        let problem = self.json();
        assert_eq!(problem["status"], status);
        assert!(problem["title"].is_string() && problem["detail"].is_string() && problem["type"].is_string());
        problem
    }
}

#[derive(Clone)]
pub struct Client {
    pub address: SocketAddr,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Client {
    pub fn request(&self, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> Response {
        let mut stream = TcpStream::connect(self.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.address);
        if let Some(cookie) = &self.cookie {
            head.push_str(&format!("Cookie: tieout_session={cookie}\r\n"));
        }
        if let Some(csrf) = &self.csrf {
            head.push_str(&format!("X-CSRF-Token: {csrf}\r\n"));
        }
        if let Some(token) = &self.bearer {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        if let Some(content_type) = content_type {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        stream.write_all(head.as_bytes()).unwrap();
        // The server may answer (413) before reading all of a large body.
        let _ = stream.write_all(body);
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        parse_response(&raw)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, None, b"")
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request("POST", path, Some("application/json"), body.to_string().as_bytes())
    }

    pub fn login(&mut self, tenant: &str, email: &str, password: &str) -> Response {
        let response = self
            .post_json("/api/login", &serde_json::json!({ "tenant": tenant, "email": email, "password": password }));
        if response.status == 200 {
            let cookie = response.header("set-cookie").expect("a session cookie");
            assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
            let value = cookie.split(';').next().unwrap().trim_start_matches("tieout_session=").to_owned();
            self.cookie = Some(value);
            self.csrf = response.json()["csrf_token"].as_str().map(str::to_owned);
        }
        response
    }

    /// Uploads files as multipart: text `fields` (store, a built-in profile's name), then
    /// file parts (`mapping`, `profile`, `file`).
    pub fn upload(&self, fields: &[(&str, &str)], files: &[(&str, &Path)]) -> Response {
        let boundary = "tieout-test-boundary-7d1f";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (name, path) in files {
            let file_name = path.file_name().unwrap().to_string_lossy();
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(&std::fs::read(path).unwrap());
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.request("POST", "/api/uploads", Some(&format!("multipart/form-data; boundary={boundary}")), &body)
    }

    /// Waits for a job to finish and returns it.
    pub fn wait_job(&self, id: i64) -> Value {
        for _ in 0..2400 {
            let job = self.get(&format!("/api/jobs/{id}")).json();
            if job["state"] == "succeeded" || job["state"] == "failed" {
                return job;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("job {id} did not finish");
    }

    /// Every item of a paged list, following next_cursor.
    pub fn all_pages(&self, path: &str, limit: usize) -> Vec<Value> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}{separator}limit={limit}&cursor={c}"),
                None => format!("{path}{separator}limit={limit}"),
            };
            let page = self.get(&url);
            assert_eq!(page.status, 200, "{}", page.text());
            let page = page.json();
            let got = page["items"].as_array().unwrap();
            assert!(got.len() <= limit);
            items.extend(got.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        items
    }
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no HTTP head in {raw:?}"));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = HashMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_lowercase(), value.trim().to_owned());
        }
    }
    let mut body = raw[split + 4..].to_vec();
    if headers.get("transfer-encoding").is_some_and(|t| t == "chunked") {
        body = dechunk(&body);
    }
    Response { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
    out
}

/// A demo month (seeded) written to `dir`.
pub fn demo_month(dir: &Path, seed: u64) -> tieout_demo::DemoManifest {
    let config = tieout_demo::DemoConfig { seed, orders: 1000, year: 2026, month: 10 };
    tieout_demo::generate(&config, dir).unwrap()
}

pub fn settings_of(manifest: &tieout_demo::DemoManifest) -> (Settings, String) {
    let text = std::fs::read_to_string(&manifest.config_file).unwrap();
    (Settings::parse("tieout.toml", &text).unwrap(), text)
}

/// Uploads a demo month as a clerk would: each store's orders with its mapping, its
/// settlement files, then the bank and wallet statements; returns the import jobs' ids.
pub fn upload_month(client: &Client, manifest: &tieout_demo::DemoManifest) -> Vec<i64> {
    let mut jobs = Vec::new();
    let mut accepted = |response: Response| {
        assert_eq!(response.status, 202, "{}", response.text());
        jobs.push(response.json()["id"].as_i64().unwrap());
    };
    for store in &manifest.stores {
        accepted(
            client
                .upload(&[("store", &store.store)], &[("mapping", &store.mapping_file), ("file", &store.orders_file)]),
        );
        let files: Vec<(&str, &Path)> = store.settlement_files.iter().map(|p| ("file", p.as_path())).collect();
        accepted(client.upload(&[("store", &store.store)], &files));
    }
    for file in &manifest.receipt_files {
        let mut fields: Vec<(&str, &str)> = Vec::new();
        if let Some(store) = &file.store {
            fields.push(("store", store));
        }
        let profile_path: Option<PathBuf> = file.profile.as_ref().filter(|p| p.ends_with(".toml")).map(PathBuf::from);
        let mut files: Vec<(&str, &Path)> = Vec::new();
        match (&file.profile, &profile_path) {
            (Some(_), Some(path)) => files.push(("profile", path.as_path())),
            (Some(name), None) => fields.push(("profile", name)),
            _ => {}
        }
        files.push(("file", &file.path));
        accepted(client.upload(&fields, &files));
    }
    jobs
}

/// `truth.csv`: order id → category.
pub fn truth(manifest: &tieout_demo::DemoManifest) -> HashMap<String, String> {
    std::fs::read_to_string(&manifest.truth_file)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let parts: Vec<&str> = line.split(',').collect();
            (parts[0].to_owned(), parts[2].to_owned())
        })
        .collect()
}
