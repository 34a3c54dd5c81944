//! Diagnostics: what a reader found wrong, with where it found it.
//!
//! Readers return their records beside a list of diagnostics (never instead of them), so
//! a caller sees every problem in a file at once. The import use case decides what an
//! error means: any error, and nothing of the file is stored.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Kept for the user's attention; the data is still imported (an inconsistent
    /// settlement total, a settlement already imported from another file).
    Warning,
    /// The file is refused.
    Error,
}

/// One finding in one input file. `line` and `column` are 1-based; 0 means "not about a
/// particular line / column" (e.g. an empty file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// The column's header name when the file has one.
    pub column_name: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn error(file: &str, line: u32, column: u32, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_owned(),
            line,
            column,
            column_name: None,
            message: message.into(),
        }
    }

    pub fn warning(file: &str, line: u32, column: u32, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(file, line, column, message) }
    }

    pub fn with_column_name(mut self, name: impl Into<String>) -> Diagnostic {
        self.column_name = Some(name.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        write!(f, ": {level}: ")?;
        if let Some(name) = &self.column_name {
            write!(f, "column '{name}': ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// True when any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}
