//! The import use case: read files, detect their format, parse, and store each file in
//! one transaction — all of it or nothing of it.
//!
//! Files are parsed on one thread while earlier files are written to the store on
//! another (a bounded queue of two parsed files between them): parsing and inserting
//! are the two halves of an import's cost, and this overlaps them on a two-core machine.
//! Settlement files — the largest by far: one 14-day settlement of a big seller is
//! millions of lines — go through the queue in parts of [`SETTLEMENT_PART_LINES`] lines,
//! stored as they come within the file's one transaction: the store starts inserting
//! while the file is still being read, and a file is never held parsed in whole.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, PoisonError};

use sha2::{Digest, Sha256};
use tieout_core::diag::{has_errors, Diagnostic};
use tieout_core::intern::Sym;
use tieout_core::limits;
use tieout_core::records::{line_keys, stable_hash, LineKeyHasher, LineKeys, OrderFile, SettlementFile, SourceFormat};
use tieout_core::statement::StatementFile;
use tieout_formats::detect::{detect, Detected};
use tieout_formats::mapping::{ImportMapping, Mapping};
use tieout_formats::statement_profile::{read_with_profile, StatementProfile};
use tieout_formats::{alipay, amazon_settlement, camt053, mt940, orders, wechatpay};
use tieout_store::{FileMeta, ImportedFile, SettlementImport, SettlementPart, Store, StoreError};

/// Store used for settlement files when none is named.
pub const DEFAULT_STORE: &str = "default";

/// Lines per part of a settlement file on its way from the parsing thread to the store
/// (about 10 MiB parsed).
pub const SETTLEMENT_PART_LINES: usize = 65_536;

#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The store (seller account) settlement files belong to; order exports name their
    /// own store per row (or through their mapping), and this is their fallback.
    pub store: Option<String>,
    /// Column mapping for CSV/XLSX order exports or counterparty documents (the file's
    /// `[source] kind` says which), with the mapping file's name.
    pub mapping: Option<ImportMapping>,
    /// Statement profile for tabular payment-tool and bank statements.
    pub profile: Option<StatementProfile>,
    /// The caller's clock, RFC 3339.
    pub imported_at: String,
}

#[derive(Clone, Debug)]
pub enum Outcome {
    Imported { format: SourceFormat, summary: String, warnings: Vec<Diagnostic> },
    AlreadyImported { format: SourceFormat, previous: ImportedFile },
    Refused { format: Option<SourceFormat>, diagnostics: Vec<Diagnostic> },
}

#[derive(Clone, Debug)]
pub struct FileReport {
    pub path: PathBuf,
    pub sha256: Option<String>,
    pub outcome: Outcome,
}

impl FileReport {
    pub fn is_refused(&self) -> bool {
        matches!(self.outcome, Outcome::Refused { .. })
    }
}

/// Progress of a multi-file import, reported after each file.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub files_done: usize,
    pub files_total: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

enum Parsed {
    /// A settlement file: its parts follow on the queue ([`Message::Part`], then
    /// [`Message::End`]). `skip` tells the parsing thread to stop reading (the file was
    /// imported before).
    SettlementParts {
        skip: Arc<AtomicBool>,
    },
    Orders(OrderFile),
    Statements(StatementFile),
    /// A transaction report: settlements, open ones, deferred lines; and the lines' keys.
    Report(crate::transactions::ReportParts, Vec<LineKeys>),
    /// Counterparty documents (invoices, payments, purchases …) for statements.
    Documents(Vec<tieout_core::counterparty::Document>),
}

struct ParsedFile {
    path: PathBuf,
    name: String,
    size_bytes: u64,
    /// The bytes of a file read whole, hashed on the storing thread: parsing is the longer
    /// half of an import, so the hash is computed by the thread that would otherwise wait.
    /// (Empty for a settlement file: it is read in blocks, and hashed from the disk.)
    bytes: Vec<u8>,
    format: Option<SourceFormat>,
    result: Result<Parsed, Vec<Diagnostic>>,
}

/// What the parsing thread sends the storing thread.
enum Message<'o> {
    File(Box<ParsedFile>, &'o ImportOptions),
    /// The next part of the settlement file sent last.
    Part(SettlementPart),
    /// The checksum ([`Checksum`]) of the settlement file sent last, of the bytes as they
    /// were read (before its last part).
    Read(u64),
    /// The settlement file sent last is read: its warnings, or its errors (refused).
    End(Result<Vec<Diagnostic>, Vec<Diagnostic>>),
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Imports `paths` in order, all with the same options. See [`import_jobs`].
pub fn import_files(
    store: &mut dyn Store,
    paths: &[PathBuf],
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress, &FileReport),
) -> Result<Vec<FileReport>, ImportError> {
    let jobs: Vec<(PathBuf, &ImportOptions)> = paths.iter().map(|p| (p.clone(), options)).collect();
    import_jobs(store, &jobs, progress)
}

/// Imports files in order, each with its own options (store, mapping). A refused file is
/// reported and stored not at all; the others are imported. Only a store failure (disk
/// full, corrupt database) stops the run.
pub fn import_jobs(
    store: &mut dyn Store,
    jobs: &[(PathBuf, &ImportOptions)],
    progress: &mut dyn FnMut(Progress, &FileReport),
) -> Result<Vec<FileReport>, ImportError> {
    import_jobs_in_parts(store, jobs, progress, SETTLEMENT_PART_LINES)
}

/// [`import_jobs`] with settlement files sent to the store in parts of `part_lines`
/// lines (tests use tiny parts; the result is the same for any size).
pub fn import_jobs_in_parts(
    store: &mut dyn Store,
    jobs: &[(PathBuf, &ImportOptions)],
    progress: &mut dyn FnMut(Progress, &FileReport),
    part_lines: usize,
) -> Result<Vec<FileReport>, ImportError> {
    let bytes_total: u64 = jobs.iter().map(|(p, _)| std::fs::metadata(p).map_or(0, |m| m.len())).sum();
    let mut reports = Vec::with_capacity(jobs.len());
    let mut bytes_done = 0;
    std::thread::scope(|scope| -> Result<(), ImportError> {
        // Two parsing threads take the files in turns (the first the 1st, 3rd, ... file,
        // the second the 2nd, 4th, ...), each up to `QUEUE` parsed files or parts ahead of
        // the store: parsing is most of an import's work, and the store takes the files in
        // their order from the two queues in turn, so what is stored, and in which order,
        // does not depend on which thread parsed what.
        let mut receivers = Vec::with_capacity(PARSERS);
        let mut parsers = Vec::with_capacity(PARSERS);
        for first in 0..PARSERS.min(jobs.len()) {
            let (sender, receiver) = queue(QUEUE.saturating_mul(part_lines.max(1)));
            receivers.push(receiver);
            let parser = std::thread::Builder::new()
                .name("tieout-parse".to_owned())
                .spawn_scoped(scope, move || {
                    for (path, options) in jobs.iter().skip(first).step_by(PARSERS) {
                        if !parse_file(path, options, part_lines, &sender) {
                            break;
                        }
                    }
                })
                .expect("a thread can be started");
            parsers.push(parser);
        }
        'files: for index in 0..jobs.len() {
            let receiver = &receivers[index % PARSERS];
            // Parts and ends of a file are taken by its storing; any left are passed over.
            let (parsed, options) = loop {
                match receiver.recv() {
                    Ok(Message::File(parsed, options)) => break (*parsed, options),
                    Ok(_) => {}
                    Err(_) => break 'files,
                }
            };
            bytes_done += parsed.size_bytes;
            let report = store_file(store, parsed, options, receiver)?;
            progress(
                Progress { files_done: reports.len() + 1, files_total: jobs.len(), bytes_done, bytes_total },
                &report,
            );
            reports.push(report);
        }
        drop(receivers);
        for parser in parsers {
            parser.join().expect("the parser thread does not panic");
        }
        Ok(())
    })?;
    Ok(reports)
}

/// Threads parsing files at once during an import (see [`import_jobs_in_parts`]).
const PARSERS: usize = 2;

/// How far a parsing thread may get ahead of the store, in parts of settlement lines (a
/// file read whole counts as all of them). The store takes files in order, so the thread
/// parsing the next file works only as far ahead as its queue lets it: two parts kept one
/// of the two threads idle most of the time; twelve (~7 MB a part) let both parse (1 M
/// month: import 5.5 s -> 4.0 s, 140 MiB more at peak; 24 was no faster). Counted in
/// lines, not messages: a small file is four messages (its announcement, a part, what was
/// read, its end), and a count of messages stopped both threads after three small files
/// each while the store wrote an order export.
const QUEUE: usize = 12;

/// Messages a parsing thread's queue holds at most (the line budget bounds the parts; the
/// other messages are small).
const QUEUE_MESSAGES: usize = 256;

/// A parsing thread's queue to the storing thread: a channel whose parts are bounded by
/// the lines they hold (`limit`), not by their number.
fn queue<'o>(limit: usize) -> (QueueSender<'o>, QueueReceiver<'o>) {
    let budget = Arc::new(Budget { state: Mutex::new((0, false)), freed: Condvar::new(), limit });
    let (sender, receiver) = mpsc::sync_channel(QUEUE_MESSAGES);
    (QueueSender { sender, budget: Arc::clone(&budget) }, QueueReceiver { receiver, budget })
}

/// Lines queued (and whether the receiver is gone), and how many may be.
struct Budget {
    state: Mutex<(usize, bool)>,
    freed: Condvar,
    limit: usize,
}

impl Budget {
    /// Waits until `weight` more fits (or nothing is queued). `false`: the receiver is gone.
    fn take(&self, weight: usize) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while weight > 0 && !state.1 && state.0 > 0 && state.0.saturating_add(weight) > self.limit {
            state = self.freed.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state.0 = state.0.saturating_add(weight);
        !state.1
    }

    fn give(&self, weight: usize) {
        if weight > 0 {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.0 = state.0.saturating_sub(weight);
            self.freed.notify_all();
        }
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).1 = true;
        self.freed.notify_all();
    }
}

struct QueueSender<'o> {
    sender: mpsc::SyncSender<(Message<'o>, usize)>,
    budget: Arc<Budget>,
}

impl<'o> QueueSender<'o> {
    /// Sends once the message fits in the budget; `Err` when the storing thread is gone.
    fn send(&self, message: Message<'o>) -> Result<(), ()> {
        let weight = match &message {
            Message::Part(part) => part.lines.len(),
            Message::File(parsed, _) if matches!(parsed.result, Ok(Parsed::SettlementParts { .. }) | Err(_)) => 0,
            Message::File(..) => self.budget.limit,
            Message::Read(_) | Message::End(_) => 0,
        };
        if !self.budget.take(weight) {
            return Err(());
        }
        self.sender.send((message, weight)).map_err(|_| ())
    }
}

struct QueueReceiver<'o> {
    receiver: mpsc::Receiver<(Message<'o>, usize)>,
    budget: Arc<Budget>,
}

impl<'o> QueueReceiver<'o> {
    fn recv(&self) -> Result<Message<'o>, mpsc::RecvError> {
        let (message, weight) = self.receiver.recv()?;
        self.budget.give(weight);
        Ok(message)
    }

    #[cfg(test)]
    fn try_recv(&self) -> Result<Message<'o>, mpsc::TryRecvError> {
        let (message, weight) = self.receiver.try_recv()?;
        self.budget.give(weight);
        Ok(message)
    }
}

impl Drop for QueueReceiver<'_> {
    /// A parsing thread waiting for room stops waiting.
    fn drop(&mut self) {
        self.budget.close();
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Opens a file within the size limit, with its size.
fn open_bounded(path: &Path, name: &str) -> Result<(File, u64), Diagnostic> {
    let file =
        File::open(path).map_err(|e| Diagnostic::error(name, 0, 0, format!("cannot open {}: {e}", path.display())))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > limits::FILE_SIZE_BYTES_MAX {
        return Err(Diagnostic::error(
            name,
            0,
            0,
            format!("the file is {size} bytes; tieout reads files up to {} bytes", limits::FILE_SIZE_BYTES_MAX),
        ));
    }
    Ok((file, size))
}

/// The SHA-256 of a file and its [`Checksum`], read a block at a time.
fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut checksum = Checksum::default();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => {
                hasher.update(&buffer[..read]);
                checksum.update(&buffer[..read]);
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok((hex(&hasher.finalize()), checksum.finish()))
}

/// A fast 64-bit checksum of a byte stream, the same however the stream is cut into
/// pieces. It tells whether the bytes a parsing thread read are the bytes the storing
/// thread hashed (SHA-256) from the disk, i.e. whether the file changed while it was
/// imported: an accident to detect, not an adversary (whoever can write the file can
/// write it before the import), so it need not be cryptographic — and a second SHA-256 of
/// every file cost ~0.6 s of CPU per GB.
#[derive(Default)]
struct Checksum {
    state: u64,
    pending: [u8; 8],
    pending_len: usize,
    length: u64,
}

impl Checksum {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;

    fn word(&mut self, word: u64) {
        self.state = (self.state.rotate_left(23) ^ word).wrapping_mul(Self::K);
    }

    fn update(&mut self, mut bytes: &[u8]) {
        self.length += bytes.len() as u64;
        if self.pending_len > 0 {
            let take = (8 - self.pending_len).min(bytes.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&bytes[..take]);
            self.pending_len += take;
            bytes = &bytes[take..];
            if self.pending_len < 8 {
                return;
            }
            self.word(u64::from_le_bytes(self.pending));
            self.pending_len = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.word(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    fn finish(mut self) -> u64 {
        let mut last = [0u8; 8];
        last[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
        self.word(u64::from_le_bytes(last));
        self.word(self.length);
        self.state ^ (self.state >> 29)
    }
}

fn known_formats() -> String {
    SourceFormat::ALL.iter().map(|f| format!("{} ({})", f.name(), f.description())).collect::<Vec<_>>().join("; ")
}

/// Parses one file and sends it to the storing thread (a settlement file in parts).
/// Returns `false` when the storing thread is gone.
fn parse_file<'o>(path: &Path, options: &'o ImportOptions, part_lines: usize, sender: &QueueSender<'o>) -> bool {
    let name = file_name(path);
    let mut parsed = ParsedFile {
        path: path.to_owned(),
        name: name.clone(),
        size_bytes: 0,
        bytes: Vec::new(),
        format: None,
        result: Err(Vec::new()),
    };
    let refuse = |mut parsed: ParsedFile, diagnostic: Diagnostic| {
        parsed.result = Err(vec![diagnostic]);
        sender.send(Message::File(Box::new(parsed), options)).is_ok()
    };
    // The file's head first: enough to tell its format.
    let (mut file, size) = match open_bounded(path, &name) {
        Ok(opened) => opened,
        Err(diagnostic) => return refuse(parsed, diagnostic),
    };
    let cannot_read =
        |error: std::io::Error| Diagnostic::error(&name, 0, 0, format!("cannot read {}: {error}", path.display()));
    let mut head = Vec::with_capacity(HEAD_BYTES);
    if let Err(error) = (&mut file).take(HEAD_BYTES as u64).read_to_end(&mut head) {
        return refuse(parsed, cannot_read(error));
    }
    parsed.size_bytes = size;
    if head.is_empty() {
        return refuse(parsed, Diagnostic::error(&name, 0, 0, "the file is empty"));
    }
    let _span = tracing::info_span!("parse", file = %name).entered();
    // A workbook given with a mapping or a profile is read with it whatever its header
    // says, so detection (which opens a workbook to read its header) is skipped.
    let given = options.mapping.is_some() || options.profile.is_some();
    let detect_given =
        |bytes: &[u8]| if given && bytes.starts_with(b"PK\x03\x04") { Detected::Tabular } else { detect(bytes) };
    if let Detected::Known(format @ (SourceFormat::AmazonSettlementV2 | SourceFormat::AmazonSettlementV1)) =
        detect_given(&head)
    {
        // A settlement file is read as it is stored: a block at a time, never whole.
        parsed.format = Some(format);
        let mut source = Read::chain(head.as_slice(), file);
        return send_settlement_parts(parsed, options, &mut source, part_lines, sender);
    }
    // Any other file is read whole.
    let mut bytes = head;
    if let Err(error) = file.take(limits::FILE_SIZE_BYTES_MAX + 1).read_to_end(&mut bytes) {
        return refuse(parsed, cannot_read(error));
    }
    parsed.size_bytes = bytes.len() as u64;
    match detect_given(&bytes) {
        // (A header line longer than the head: the head could not tell.)
        Detected::Known(format @ (SourceFormat::AmazonSettlementV2 | SourceFormat::AmazonSettlementV1)) => {
            parsed.format = Some(format);
            send_settlement_parts(parsed, options, &mut bytes.as_slice(), part_lines, sender)
        }
        detected => {
            let parsed = parse_whole(parsed, bytes, detected, options);
            sender.send(Message::File(Box::new(parsed), options)).is_ok()
        }
    }
}

/// Bytes of a file's head read to tell its format.
const HEAD_BYTES: usize = 64 * 1024;

/// A reader that checksums ([`Checksum`]) what it reads.
struct Checksumming<'r> {
    inner: &'r mut dyn Read,
    hasher: Checksum,
}

impl Read for Checksumming<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        Ok(read)
    }
}

/// Announces a settlement file, reads it from `source` and sends it in parts, each with
/// its lines' keys and the texts interned since the previous part; before the last part,
/// the SHA-256 of what was read (the storing thread hashes the file on its own: the two
/// must agree, or the file changed while it was read); then its end. Returns `false`
/// when the storing thread is gone.
fn send_settlement_parts<'o>(
    mut parsed: ParsedFile,
    options: &'o ImportOptions,
    source: &mut dyn Read,
    part_lines: usize,
    sender: &QueueSender<'o>,
) -> bool {
    let name = parsed.name.clone();
    let size = usize::try_from(parsed.size_bytes).ok();
    let skip = Arc::new(AtomicBool::new(false));
    parsed.result = Ok(Parsed::SettlementParts { skip: Arc::clone(&skip) });
    if sender.send(Message::File(Box::new(parsed), options)).is_err() {
        return false;
    }
    let mut source = Checksumming { inner: source, hasher: Checksum::default() };
    // Symbol 0 is the empty text, in every interner: parts carry the texts from 1 on.
    let mut sent_strings = 1;
    let mut hasher = LineKeyHasher::default();
    let mut part_of = |file: &SettlementFile, lines: Vec<tieout_core::records::SettlementLine>, last: bool| {
        let (mut new_texts, mut new_text_ends) = (String::new(), Vec::new());
        for sym in sent_strings..file.strings.len() {
            new_texts.push_str(file.strings.resolve(Sym(sym as u32)));
            new_text_ends.push(new_texts.len());
        }
        sent_strings = file.strings.len().max(1);
        let keys = hasher.keys(&file.strings, &lines);
        SettlementPart { new_texts, new_text_ends, settlements: file.settlements.clone(), lines, keys, last }
    };
    let mut gone = false;
    let mut rest = amazon_settlement::read_settlement_from(&name, &mut source, size, part_lines, &mut |file, lines| {
        if skip.load(Ordering::Relaxed) {
            return false;
        }
        gone = sender.send(Message::Part(part_of(file, lines, false))).is_err();
        !gone
    });
    if gone {
        return false;
    }
    if skip.load(Ordering::Relaxed) {
        return sender.send(Message::End(Ok(Vec::new()))).is_ok();
    }
    if has_errors(&rest.diagnostics) {
        return sender.send(Message::End(Err(rest.diagnostics))).is_ok();
    }
    let read = std::mem::take(&mut source.hasher).finish();
    let lines = std::mem::take(&mut rest.lines);
    sender.send(Message::Read(read)).is_ok()
        && sender.send(Message::Part(part_of(&rest, lines, true))).is_ok()
        && sender.send(Message::End(Ok(rest.diagnostics))).is_ok()
}

/// Parses a file that is stored in one piece (every format but settlement files).
fn parse_whole(mut parsed: ParsedFile, bytes: Vec<u8>, detected: Detected, options: &ImportOptions) -> ParsedFile {
    let name = parsed.name.clone();
    parsed.result = match detected {
        Detected::Known(SourceFormat::AmazonSettlementV2 | SourceFormat::AmazonSettlementV1) => {
            unreachable!("settlement files are read in parts (parse_file)")
        }
        Detected::Known(SourceFormat::AmazonTransactionReport) => {
            parsed.format = Some(SourceFormat::AmazonTransactionReport);
            let report = tieout_formats::amazon_transactions::read_transaction_report(&name, &bytes);
            if has_errors(&report.diagnostics) {
                Err(report.diagnostics)
            } else {
                let parts = crate::transactions::report_parts(report);
                // A report has no order-item codes; each of its rows is one item of an order
                // (two rows of one SKU can be two items). So a row is its own item, and
                // its lines are not fingerprinted for duplicates: two identical rows can be
                // two items (duplicates are found in settlement files, which tell items
                // apart).
                let keys = line_keys(&parts.file)
                    .into_iter()
                    .zip(&parts.file.lines)
                    .map(|(keys, line)| LineKeys {
                        fingerprint: None,
                        item_key: stable_hash(
                            &[&keys.item_key.to_le_bytes()[..], &line.line.to_le_bytes()[..]].concat(),
                        ),
                    })
                    .collect();
                Ok(Parsed::Report(parts, keys))
            }
        }
        Detected::Known(SourceFormat::AmazonOrdersReport) => {
            parsed.format = Some(SourceFormat::AmazonOrdersReport);
            let mapping = Mapping::amazon_all_orders();
            let file = orders::read_orders(&name, &bytes, &mapping, options.store.as_deref());
            if has_errors(&file.diagnostics) {
                Err(file.diagnostics)
            } else {
                Ok(Parsed::Orders(file))
            }
        }
        Detected::Known(
            format @ (SourceFormat::Camt053
            | SourceFormat::Mt940
            | SourceFormat::AlipayStatement
            | SourceFormat::WechatPayBill),
        ) => {
            parsed.format = Some(format);
            let file = match format {
                SourceFormat::Camt053 => camt053::read_camt053(&name, &bytes),
                SourceFormat::Mt940 => mt940::read_mt940(&name, &bytes),
                SourceFormat::AlipayStatement => alipay::read_alipay(&name, &bytes),
                _ => wechatpay::read_wechatpay(&name, &bytes),
            };
            statements_or_errors(file)
        }
        Detected::Known(SourceFormat::LedgerDocuments) if options.mapping.is_none() && options.profile.is_none() => {
            parsed.format = Some(SourceFormat::LedgerDocuments);
            let file = tieout_formats::ledger::read_documents(&name, &bytes);
            if has_errors(&file.diagnostics) {
                Err(file.diagnostics)
            } else {
                Ok(Parsed::Documents(file.documents))
            }
        }
        Detected::Known(
            SourceFormat::ErpOrders
            | SourceFormat::ProfileStatement
            | SourceFormat::LedgerDocuments
            | SourceFormat::CounterpartyStatement,
        )
        | Detected::Tabular => {
            match (&options.mapping, &options.profile) {
                (_, Some(profile)) => {
                    parsed.format = Some(SourceFormat::ProfileStatement);
                    statements_or_errors(read_with_profile(&name, &bytes, profile))
                }
                (Some(ImportMapping::Documents(mapping)), None) => {
                    parsed.format = Some(SourceFormat::LedgerDocuments);
                    let file = tieout_formats::ledger::read_documents_with_mapping(&name, &bytes, mapping);
                    if has_errors(&file.diagnostics) {
                        Err(file.diagnostics)
                    } else {
                        Ok(Parsed::Documents(file.documents))
                    }
                }
                (Some(ImportMapping::Orders(mapping)), None) => {
                    parsed.format = Some(SourceFormat::ErpOrders);
                    let file = orders::read_orders(&name, &bytes, mapping, options.store.as_deref());
                    if has_errors(&file.diagnostics) {
                        Err(file.diagnostics)
                    } else {
                        Ok(Parsed::Orders(file))
                    }
                }
                (None, None) => Err(vec![Diagnostic::error(
                    &name,
                    1,
                    0,
                    format!(
                        "a table tieout does not recognise by its header: if it is an order export or counterparty documents, give its column mapping with --mapping FILE; if it is a payment-tool or bank statement, its statement profile with --profile FILE. Formats tieout recognises: {}",
                        known_formats()
                    ),
                )]),
            }
        }
        Detected::Unknown => {
            Err(vec![Diagnostic::error(&name, 1, 0, format!("unknown format. tieout reads: {}", known_formats()))])
        }
    };
    parsed.bytes = bytes;
    parsed
}

fn statements_or_errors(file: StatementFile) -> Result<Parsed, Vec<Diagnostic>> {
    if has_errors(&file.diagnostics) {
        Err(file.diagnostics)
    } else {
        Ok(Parsed::Statements(file))
    }
}

fn store_file(
    store: &mut dyn Store,
    parsed: ParsedFile,
    options: &ImportOptions,
    receiver: &QueueReceiver<'_>,
) -> Result<FileReport, ImportError> {
    // A settlement file is hashed here from the disk, a block at a time, while the parsing
    // thread reads it (and checksums what it read, to be compared before it is committed).
    let mut file_checksum = 0;
    let sha256 = match &parsed.result {
        Ok(Parsed::SettlementParts { skip }) => match hash_file(&parsed.path) {
            Ok((sha256, checksum)) => {
                file_checksum = checksum;
                sha256
            }
            Err(error) => {
                skip.store(true, Ordering::Relaxed);
                drain(receiver);
                let message = format!("cannot read {}: {error}", parsed.path.display());
                return Ok(FileReport {
                    path: parsed.path,
                    sha256: None,
                    outcome: Outcome::Refused {
                        format: parsed.format,
                        diagnostics: vec![Diagnostic::error(&parsed.name, 0, 0, message)],
                    },
                });
            }
        },
        _ => hex(&Sha256::digest(&parsed.bytes)),
    };
    drop(parsed.bytes);
    let mut report = FileReport {
        path: parsed.path,
        // A file that could not be read has no hash to show.
        sha256: (parsed.size_bytes > 0).then(|| sha256.clone()),
        outcome: Outcome::Refused { format: parsed.format, diagnostics: Vec::new() },
    };
    let records = match parsed.result {
        Ok(records) => records,
        Err(diagnostics) => {
            report.outcome = Outcome::Refused { format: parsed.format, diagnostics };
            return Ok(report);
        }
    };
    let format = parsed.format.expect("a parsed file has a format");
    if let Some(previous) = store.file_by_sha256(&sha256)? {
        if let Parsed::SettlementParts { skip } = &records {
            // Stop the reading, and pass over what was already sent of the file.
            skip.store(true, Ordering::Relaxed);
            drain(receiver);
        }
        report.outcome = Outcome::AlreadyImported { format, previous };
        return Ok(report);
    }
    let _span = tracing::info_span!("store", file = %parsed.name).entered();
    // What every stored file records of itself.
    let meta_of = |store: Option<String>| FileMeta {
        sha256: sha256.clone(),
        name: parsed.name.clone(),
        format,
        store,
        size_bytes: parsed.size_bytes,
        imported_at: options.imported_at.clone(),
    };
    match records {
        Parsed::SettlementParts { .. } => {
            let store_name = options.store.clone().unwrap_or_else(|| DEFAULT_STORE.to_owned());
            let meta = meta_of(Some(store_name.clone()));
            let mut end = None;
            let mut changed = false;
            let mut next = || loop {
                match receiver.recv() {
                    Ok(Message::Part(part)) => return Some(part),
                    Ok(Message::Read(read)) if read == file_checksum => {}
                    Ok(Message::Read(_)) => {
                        changed = true;
                        return None;
                    }
                    Ok(Message::End(result)) => {
                        end = Some(result);
                        return None;
                    }
                    // The parsing thread sends nothing else within a file, and ends a file
                    // before it stops.
                    Ok(Message::File(..)) | Err(_) => return None,
                }
            };
            let imported = store.import_settlement_parts(&meta, &store_name, &mut next)?;
            let end = match end {
                _ if changed => {
                    drain(receiver);
                    let message = "the file changed while it was being imported (what was read is not what was hashed): nothing of it was stored; import it again";
                    Err(vec![Diagnostic::error(&parsed.name, 0, 0, message)])
                }
                Some(end) => end,
                None => match receiver.recv() {
                    Ok(Message::End(end)) => end,
                    _ => Err(vec![Diagnostic::error(&parsed.name, 0, 0, "the file's reading ended early")]),
                },
            };
            let (outcome, mut warnings): (SettlementImport, Vec<Diagnostic>) = match (imported, end) {
                // Committed: the last part is sent only when the file has no error (its
                // warnings come after it, unless the reading thread is gone).
                (Some(outcome), end) => (outcome, end.unwrap_or_default()),
                (None, Err(diagnostics)) => {
                    report.outcome = Outcome::Refused { format: Some(format), diagnostics };
                    return Ok(report);
                }
                (None, Ok(_)) => {
                    let message = "the file's reading stopped before its end";
                    report.outcome = Outcome::Refused {
                        format: Some(format),
                        diagnostics: vec![Diagnostic::error(&parsed.name, 0, 0, message)],
                    };
                    return Ok(report);
                }
            };
            for (id, other) in &outcome.settlements_skipped {
                warnings.push(Diagnostic::warning(
                    &parsed.name,
                    0,
                    0,
                    format!("settlement {id} was already imported from {other}; its lines here were not added again"),
                ));
            }
            for (id, report) in &outcome.settlements_replaced {
                warnings.push(Diagnostic::warning(
                    &parsed.name,
                    0,
                    0,
                    format!(
                        "settlement {id} was known from transaction report {report}; this settlement file replaces it"
                    ),
                ));
            }
            let settlements = outcome.settlements_added.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(", ");
            let summary = format!(
                "{} for store {store_name}: {} settlement(s) [{settlements}], {} line(s)",
                format.description(),
                outcome.settlements_added.len(),
                outcome.lines_added
            );
            tracing::info!(lines = outcome.lines_added, "settlement file stored");
            report.outcome = Outcome::Imported { format, summary, warnings };
        }
        Parsed::Report(parts, keys) => {
            let store_name = options.store.clone().unwrap_or_else(|| DEFAULT_STORE.to_owned());
            let meta = meta_of(Some(store_name.clone()));
            let extras = tieout_store::ReportExtras {
                open: &parts.open,
                deferred: &parts.deferred,
                posted_range: parts.posted_range,
            };
            let outcome = store.import_transaction_report(&meta, &parts.file, &keys, &store_name, extras)?;
            let mut warnings: Vec<Diagnostic> = parts.file.diagnostics.clone();
            for (id, other) in &outcome.settlements_skipped {
                warnings.push(Diagnostic::warning(
                    &parsed.name,
                    0,
                    0,
                    format!("settlement {id} was already imported from settlement file {other}; its rows here were not added again"),
                ));
            }
            let open: Vec<String> = parts.open.iter().map(u64::to_string).collect();
            let summary = format!(
                "{} for store {store_name}: {} settlement(s) added, {} merged with an earlier report, {} line(s) added{}; {} deferred line(s) (not released yet, kept apart)",
                format.description(),
                outcome.settlements_added.len(),
                outcome.settlements_merged.len(),
                outcome.lines_added,
                if open.is_empty() { String::new() } else { format!("; open (no transfer yet): {}", open.join(", ")) },
                outcome.deferred_added,
            );
            tracing::info!(lines = outcome.lines_added, deferred = outcome.deferred_added, "transaction report stored");
            report.outcome = Outcome::Imported { format, summary, warnings };
        }
        Parsed::Documents(documents) => {
            let meta = meta_of(options.store.clone());
            let outcome = store.import_documents(&meta, &documents)?;
            let mut warnings = Vec::new();
            if outcome.skipped > 0 {
                warnings.push(Diagnostic::warning(
                    &parsed.name,
                    0,
                    0,
                    format!(
                        "{} document(s) already imported (same counterparty, type and number): not added again",
                        outcome.skipped
                    ),
                ));
            }
            let counterparties: std::collections::BTreeSet<&str> =
                documents.iter().map(|d| d.counterparty.as_str()).collect();
            let summary = format!(
                "{}: {} document(s) of {} counterpart{}",
                format.description(),
                outcome.added,
                counterparties.len(),
                if counterparties.len() == 1 { "y" } else { "ies" }
            );
            report.outcome = Outcome::Imported { format, summary, warnings };
        }
        Parsed::Statements(file) => {
            let meta = meta_of(options.store.clone());
            let outcome = store.import_statements(&meta, &file)?;
            let mut warnings = file.diagnostics.clone();
            for (account, reference, other) in &outcome.statements_skipped {
                warnings.push(Diagnostic::warning(
                    &parsed.name,
                    0,
                    0,
                    format!("statement {reference} of account {account} was already imported from {other}; its entries here were not added again"),
                ));
            }
            for (account, count, first, other) in &outcome.entries_skipped {
                warnings.push(Diagnostic::warning(
                    &parsed.name,
                    0,
                    0,
                    format!(
                        "{count} entr{} of account {account} (first: {first}) already imported from {other} (an overlapping export): not added again",
                        if *count == 1 { "y" } else { "ies" }
                    ),
                ));
            }
            let summary = format!(
                "{}: {} statement(s), {} entr{}",
                format.description(),
                outcome.statements_added,
                outcome.entries_added,
                if outcome.entries_added == 1 { "y" } else { "ies" }
            );
            tracing::info!(entries = outcome.entries_added, "statement file stored");
            report.outcome = Outcome::Imported { format, summary, warnings };
        }
        Parsed::Orders(file) => {
            let meta = meta_of(options.store.clone());
            let outcome = store.import_orders(&meta, &file)?;
            let mut summary = format!(
                "{}: {} order(s) in {} row(s)",
                format.description(),
                outcome.orders_added + outcome.orders_replaced,
                outcome.items_added
            );
            if outcome.orders_replaced > 0 {
                summary.push_str(&format!(
                    "; {} order(s) were in an earlier export and now take this file's rows",
                    outcome.orders_replaced
                ));
            }
            tracing::info!(items = outcome.items_added, "order file stored");
            report.outcome = Outcome::Imported { format, summary, warnings: file.diagnostics.clone() };
        }
    }
    Ok(report)
}

/// Passes over what is left of a settlement file on the queue (its parts, up to its end).
fn drain(receiver: &QueueReceiver<'_>) {
    while let Ok(Message::Part(_) | Message::Read(_)) = receiver.recv() {}
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[(byte >> 4) as usize] as char);
        out.push(DIGITS[(byte & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the storing thread does with a settlement file whose bytes, as the parsing
    /// thread read them, hash differently from the file it hashed itself (the file changed
    /// while it was imported): nothing stored, refused with a message saying so; the
    /// queue is left at the next file.
    #[test]
    fn the_checksum_does_not_depend_on_how_the_bytes_are_cut_and_sees_any_change() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let whole = {
            let mut checksum = Checksum::default();
            checksum.update(&bytes);
            checksum.finish()
        };
        for cut in [1, 3, 7, 8, 9, 64, 999] {
            let mut checksum = Checksum::default();
            for piece in bytes.chunks(cut) {
                checksum.update(piece);
                checksum.update(&[]);
            }
            assert_eq!(checksum.finish(), whole, "pieces of {cut}");
        }
        let of = |bytes: &[u8]| {
            let mut checksum = Checksum::default();
            checksum.update(bytes);
            checksum.finish()
        };
        // Any one byte changed, a byte more or less, a trailing zero: another checksum.
        for at in [0, 5, 8, 500, 999] {
            let mut changed = bytes.clone();
            changed[at] ^= 0x20;
            assert_ne!(of(&changed), whole, "byte {at}");
        }
        assert_ne!(of(&bytes[..999]), whole);
        let mut longer = bytes.clone();
        longer.push(0);
        assert_ne!(of(&longer), whole);
        assert_ne!(of(b""), of(b"\0"));
    }

    /// A queue holds parts up to its budget of lines (small messages beside them), lets a
    /// part in once the store took enough, and stops a waiting sender when the store is gone.
    #[test]
    fn a_queue_is_bounded_by_lines_and_a_waiting_sender_stops_when_the_store_is_gone() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../formats/tests/fixtures/amazon-settlement-v2_us_settlement-sample.txt");
        let sample = amazon_settlement::read_settlement("sample", &std::fs::read(fixture).unwrap());
        let part = |lines: usize| {
            let line = sample.lines[0].clone();
            Message::Part(SettlementPart {
                new_texts: String::new(),
                new_text_ends: Vec::new(),
                settlements: Vec::new(),
                lines: vec![line; lines],
                keys: Vec::new(),
                last: false,
            })
        };
        let (sender, receiver) = queue(10);
        assert!(sender.send(part(6)).is_ok());
        for _ in 0..20 {
            assert!(sender.send(Message::Read(7)).is_ok(), "small messages do not count");
        }
        let (sent, taken) = std::thread::scope(|scope| {
            let waiting = scope.spawn(|| sender.send(part(6)).is_ok());
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(!waiting.is_finished(), "6 + 6 lines do not fit in 10");
            let taken = std::iter::from_fn(|| receiver.try_recv().ok()).count();
            (waiting.join().unwrap(), taken)
        });
        assert_eq!((sent, taken), (true, 21));
        // The part let in above is still queued: another waits, until the receiver goes.
        let dropped = std::thread::scope(|scope| {
            let waiting = scope.spawn(|| sender.send(part(6)).is_ok());
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(receiver);
            waiting.join().unwrap()
        });
        assert!(!dropped, "the receiver is gone");
    }

    #[test]
    fn a_settlement_file_that_changed_while_it_was_read_is_refused_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settlement.txt");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../formats/tests/fixtures/amazon-settlement-v2_us_settlement-sample.txt");
        std::fs::copy(&fixture, &path).unwrap();
        let options =
            ImportOptions { store: None, mapping: None, profile: None, imported_at: "2026-11-26T00:00:00Z".into() };
        let mut store = tieout_store::SqliteStore::open_in_memory().unwrap();
        let checksum = hash_file(&path).unwrap().1;
        for (read, expect_stored) in [(checksum ^ 1, false), (checksum, true)] {
            let (sender, receiver) = queue(1_000);
            let parsed = std::thread::scope(|scope| {
                let parser = scope.spawn(|| parse_file(&path, &options, 2, &sender));
                // The File message, then replace what the parser would say it read.
                let Ok(Message::File(parsed, _)) = receiver.recv() else { panic!("a file first") };
                assert!(parser.join().unwrap());
                *parsed
            });
            let mut queued: Vec<Message<'_>> = std::iter::from_fn(|| receiver.try_recv().ok()).collect();
            let at = queued.iter().position(|m| matches!(m, Message::Read(_))).expect("the parser sends what it read");
            assert!(at >= 1, "parts come before the hash");
            queued[at] = Message::Read(read);
            let (sender, receiver) = queue(1_000);
            for message in queued {
                sender.send(message).unwrap();
            }
            sender.send(Message::End(Ok(Vec::new()))).unwrap(); // stands for the next file
            let report = store_file(&mut store, parsed, &options, &receiver).unwrap();
            let stored = store.settlements().unwrap().len();
            if expect_stored {
                assert!(matches!(report.outcome, Outcome::Imported { .. }), "{:?}", report.outcome);
                assert_eq!(stored, 1);
            } else {
                let Outcome::Refused { diagnostics, .. } = &report.outcome else { panic!("{:?}", report.outcome) };
                assert!(diagnostics[0].message.contains("changed while it was being imported"), "{diagnostics:?}");
                assert_eq!(stored, 0);
                assert!(store.files().unwrap().is_empty());
            }
            // Exactly the file's own messages were taken.
            assert!(matches!(receiver.try_recv(), Ok(Message::End(Ok(_)))));
        }
    }
}
