//! The password: read once, from a file, stdin, the environment or a no-echo prompt, never argv.
//!
//! [`Secret`] wipes its memory on drop and refuses to print itself, so a stray `{:?}` in a
//! log line or a panic message cannot leak it.

use std::fmt;
use std::io::{self, BufRead, Read};
use std::path::Path;

use zeroize::Zeroizing;

/// A password held in memory that is zeroed when dropped.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a password, stripping one trailing line ending as `echo pw > file` leaves one.
    pub fn new(mut raw: String) -> Self {
        if raw.ends_with('\n') {
            raw.pop();
            if raw.ends_with('\r') {
                raw.pop();
            }
        }
        Secret(Zeroizing::new(raw))
    }

    /// The password, for handing to GSSAPI only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the password is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why a password could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The password file could not be opened or read.
    #[error("cannot read password file {path}: {source}")]
    File {
        /// The file named by --password-file.
        path: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The password file is larger than any sane password.
    #[error("password file {path} is larger than 4096 bytes; is it really a password file?")]
    FileTooLarge {
        /// The file named by --password-file.
        path: String,
    },
    /// stdin could not be read.
    #[error("cannot read the password from stdin: {0}")]
    Stdin(io::Error),
    /// The password is not UTF-8 (GSSAPI takes bytes, but Ansible credentials are text).
    #[error("the password from {0} is not valid UTF-8")]
    NotUtf8(&'static str),
    /// The password is empty.
    #[error("the password from {0} is empty")]
    Empty(&'static str),
    /// The terminal prompt failed.
    #[error("cannot prompt for the password: {0}")]
    Prompt(io::Error),
}

const MAX_PASSWORD_FILE: u64 = 4096;

/// Reads the password from a file (first line, trailing newline stripped).
pub fn from_file(path: &Path) -> Result<Secret, SecretError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| SecretError::File {
        path: shown.clone(),
        source,
    })?;
    let mut buf = Zeroizing::new(Vec::new());
    file.take(MAX_PASSWORD_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|source| SecretError::File {
            path: shown.clone(),
            source,
        })?;
    if buf.len() as u64 > MAX_PASSWORD_FILE {
        return Err(SecretError::FileTooLarge { path: shown });
    }
    finish(buf.to_vec(), "--password-file")
}

/// Reads the password from the first line of stdin.
pub fn from_stdin() -> Result<Secret, SecretError> {
    let mut line = Zeroizing::new(Vec::new());
    io::stdin()
        .lock()
        .read_until(b'\n', &mut line)
        .map_err(SecretError::Stdin)?;
    finish(line.to_vec(), "stdin")
}

/// Prompts on the terminal without echo.
pub fn prompt(user: &str) -> Result<Secret, SecretError> {
    let pw = rpassword::prompt_password(format!("Password for {user}: "))
        .map_err(SecretError::Prompt)?;
    finish(pw.into_bytes(), "the prompt")
}

/// Wraps an already-read value (the KRBPROBE_PASSWORD environment variable).
pub fn from_value(value: String, origin: &'static str) -> Result<Secret, SecretError> {
    finish(value.into_bytes(), origin)
}

fn finish(bytes: Vec<u8>, origin: &'static str) -> Result<Secret, SecretError> {
    let text = String::from_utf8(bytes).map_err(|e| {
        // Wipe the rejected bytes too: they are still the password.
        let mut b = e.into_bytes();
        zeroize::Zeroize::zeroize(&mut b);
        SecretError::NotUtf8(origin)
    })?;
    let secret = Secret::new(text);
    if secret.is_empty() {
        return Err(SecretError::Empty(origin));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_one_line_ending_only() {
        assert_eq!(Secret::new("pw\n".into()).expose(), "pw");
        assert_eq!(Secret::new("pw\r\n".into()).expose(), "pw");
        assert_eq!(Secret::new("pw \n\n".into()).expose(), "pw \n");
        assert_eq!(Secret::new("pw".into()).expose(), "pw");
    }

    #[test]
    fn debug_never_shows_the_password() {
        let s = Secret::new("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn missing_file_names_the_file() {
        let err = from_file(Path::new("/nonexistent/krbprobe-pw")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/krbprobe-pw"),
            "{err}"
        );
    }

    #[test]
    fn empty_password_is_refused() {
        assert!(matches!(
            from_value("\n".into(), "KRBPROBE_PASSWORD"),
            Err(SecretError::Empty(_))
        ));
    }
}
