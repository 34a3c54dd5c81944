//! Text decoding shared by the tabular readers: UTF-8 (with or without a BOM) is the
//! only encoding these formats use; anything else is refused with the line and column
//! of the first bad byte, never replaced with U+FFFD.

use tieout_core::{limits, Diagnostic};

/// Decodes `bytes` as UTF-8, dropping a leading BOM.
pub fn decode_utf8<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, Diagnostic> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|error| {
        let valid = &bytes[..error.valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() as u32 + 1;
        let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        let column = std::str::from_utf8(&valid[line_start..]).map_or(1, |s| s.chars().count() as u32 + 1);
        Diagnostic::error(
            file,
            line,
            column,
            "the file is not UTF-8 text (is it GBK, Latin-1 or a spreadsheet saved in another encoding? save it as UTF-8, or use its format's own export)",
        )
    })
}

/// Lines of a text with their 1-based numbers, without line terminators (`\n` or
/// `\r\n`). A final empty line (after the last terminator) is not yielded.
pub fn numbered_lines(text: &str) -> impl Iterator<Item = (u32, &str)> {
    text.split_terminator('\n')
        .enumerate()
        .map(|(index, line)| ((index + 1) as u32, line.strip_suffix('\r').unwrap_or(line)))
}

/// The first line of a text (without terminator or BOM), for detection.
pub fn first_line(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let end = bytes.iter().position(|b| *b == b'\n').unwrap_or(bytes.len());
    let line = &bytes[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Refuses a file over [`limits::FILE_SIZE_BYTES_MAX`]; `kind` names such files in the
/// message ("settlement", "statement").
pub fn check_size(file: &str, bytes: &[u8], kind: &str) -> Result<(), Diagnostic> {
    if bytes.len() as u64 > limits::FILE_SIZE_BYTES_MAX {
        let message = format!(
            "the file is {} bytes; tieout reads {kind} files up to {} bytes",
            bytes.len(),
            limits::FILE_SIZE_BYTES_MAX
        );
        return Err(Diagnostic::error(file, 0, 0, message));
    }
    Ok(())
}

/// The text of a file that must be within the size limit, UTF-8 and not blank; otherwise
/// the one diagnostic saying why.
pub fn nonblank_utf8<'a>(file: &str, bytes: &'a [u8], kind: &str) -> Result<&'a str, Diagnostic> {
    check_size(file, bytes, kind)?;
    let text = decode_utf8(file, bytes)?;
    if text.trim().is_empty() {
        return Err(Diagnostic::error(file, 0, 0, "the file is empty"));
    }
    Ok(text)
}

/// Adds `diagnostic` to a file's list, unless the list has reached
/// [`limits::FILE_DIAGNOSTICS_MAX`]: then it adds one last error saying reading stopped
/// there, and returns `false` — the reader stops. Every reader counts the same way.
pub fn push_limited(diagnostics: &mut Vec<Diagnostic>, file: &str, diagnostic: Diagnostic) -> bool {
    if diagnostics.len() + 1 >= limits::FILE_DIAGNOSTICS_MAX {
        let message = format!(
            "too many problems: stopped reading at line {} after {} diagnostics",
            diagnostic.line,
            limits::FILE_DIAGNOSTICS_MAX - 1
        );
        diagnostics.push(Diagnostic::error(file, diagnostic.line, 0, message));
        false
    } else {
        diagnostics.push(diagnostic);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_and_crlf() {
        let text = decode_utf8("f.txt", b"\xEF\xBB\xBFa\tb\r\nc\r\n").unwrap();
        let lines: Vec<_> = numbered_lines(text).collect();
        assert_eq!(lines, vec![(1, "a\tb"), (2, "c")]);
    }

    #[test]
    fn diagnostics_stop_at_the_limit() {
        let mut diagnostics = Vec::new();
        let mut pushed = 0;
        while push_limited(&mut diagnostics, "f", Diagnostic::error("f", pushed + 1, 1, "bad")) {
            pushed += 1;
        }
        assert_eq!(diagnostics.len(), limits::FILE_DIAGNOSTICS_MAX);
        assert!(diagnostics.last().unwrap().message.starts_with("too many problems: stopped reading at line"));
    }

    #[test]
    fn non_utf8_names_line_and_column() {
        let error = decode_utf8("bill.csv", b"header\nab\xB6\xD3\n").unwrap_err();
        assert_eq!((error.line, error.column), (2, 3));
        assert!(error.to_string().starts_with("bill.csv:2:3: error: the file is not UTF-8"));
    }
}
