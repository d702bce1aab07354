//! `--trace`: MIT krb5's own trace (what `KRB5_TRACE` prints) captured into the report, so a
//! user no longer has to set the variable, rerun, and find the file.
//!
//! MIT opens the file named in `KRB5_TRACE` when a library context is created; pointing it at
//! the write end of a pipe (through `/proc/self/fd`) keeps the trace in memory: nothing is
//! written to disk. A reader thread collects the lines.

use std::io::{BufRead, BufReader, PipeWriter};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};

/// A capture. Keep it alive for the whole run.
pub struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::io::PipeReader>,
    _writer: PipeWriter,
}

/// Lines kept at most: a trace of a run against many hosts must not grow without bound.
const MAX_LINES: usize = 20_000;

impl Capture {
    /// Creates the pipe and returns the capture and the value for `KRB5_TRACE`. Nothing reads
    /// the pipe until [`Capture::collect`] starts the reader thread.
    pub fn open() -> std::io::Result<(Capture, String)> {
        let (reader, writer) = std::io::pipe()?;
        let path = format!("/proc/self/fd/{}", writer.as_raw_fd());
        if !std::path::Path::new(&path).exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no /proc: MIT cannot open the trace pipe",
            ));
        }
        Ok((
            Capture {
                lines: Arc::new(Mutex::new(Vec::new())),
                reader: Some(reader),
                _writer: writer,
            },
            path,
        ))
    }

    /// Starts the thread that drains the pipe (so MIT never blocks on a full pipe).
    pub fn collect(&mut self) {
        let Some(reader) = self.reader.take() else {
            return;
        };
        let sink = self.lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut v) = sink.lock() {
                    if v.len() < MAX_LINES {
                        v.push(line);
                    }
                }
            }
        });
    }

    /// The lines captured so far.
    pub fn lines(&self) -> Vec<String> {
        // MIT writes each line with one write(2); give the reader a moment to drain the pipe.
        std::thread::sleep(std::time::Duration::from_millis(20));
        self.lines.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// The lines of a trace worth reading first: which KDC was asked, over what, which
/// enctypes, which principals and services, and every error.
pub fn digest(lines: &[String]) -> Vec<&str> {
    const KEEP: &[&str] = &[
        "Getting initial credentials for",
        "Sending request",
        "Sending initial UDP request",
        "Sending TCP request",
        "Received answer",
        "Response was from",
        "Received error from KDC",
        "Selected etype info",
        "AS key obtained",
        "Getting credentials",
        "Requesting tickets for",
        "Received creds for",
        "Resolving hostname",
        "Retrying",
        "error",
        "Error",
    ];
    lines
        .iter()
        .map(String::as_str)
        // A static build cannot dlopen plugins (pkinit, spake); MIT says so on every run.
        .filter(|l| !l.contains("Error loading plugin module"))
        .filter(|l| KEEP.iter().any(|k| l.contains(k)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_keeps_the_steps_that_matter() {
        let lines: Vec<String> = [
            "[1] 1.0: Getting initial credentials for awx@R",
            "[1] 1.0: Processing preauth types: PA-ETYPE-INFO2 (19)",
            "[1] 1.0: Sending request (190 bytes) to R",
            "[1] 1.0: Received error from KDC: -1765328359/Additional pre-authentication required",
            "[1] 1.0: Storing config in MEMORY:x",
            "[1] 1.0: Error loading plugin module spake: 2/Dynamic loading not supported",
        ]
        .map(String::from)
        .to_vec();
        let d = digest(&lines);
        assert_eq!(d.len(), 3);
        assert!(d[2].contains("Received error"));
    }
}
