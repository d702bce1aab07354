//! WinRM message encryption framing (MS-WSMV 2.2.9.1): the `multipart/encrypted` body that
//! carries a GSS-wrapped SOAP envelope over plain HTTP, as pywinrm and Windows write it.
//!
//! ```text
//! --Encrypted Boundary\r\n
//! \tContent-Type: application/HTTP-Kerberos-session-encrypted\r\n
//! \tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=<plaintext length>\r\n
//! --Encrypted Boundary\r\n
//! \tContent-Type: application/octet-stream\r\n
//! <u32 LE header length><GSS wrap header><ciphertext>--Encrypted Boundary--\r\n
//! ```
//!
//! Pure byte handling, no crypto: [`encode`] and [`decode`] are what the fuzz target and the
//! table tests exercise.

/// The fixed MIME boundary (not chosen per message: MS-WSMV fixes it).
pub const BOUNDARY: &str = "Encrypted Boundary";

/// Largest plaintext length a peer may announce; WinRM's MaxEnvelopeSize is 500 KB by default.
pub const MAX_LENGTH: usize = 16 * 1024 * 1024;

/// The Content-Type header value for a body of `protocol`.
pub fn content_type(protocol: &str) -> String {
    format!("multipart/encrypted;protocol=\"{protocol}\";boundary=\"{BOUNDARY}\"")
}

/// Builds the body for a wrapped message.
pub fn encode(protocol: &str, plaintext_len: usize, header: &[u8], ciphertext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + header.len() + ciphertext.len());
    out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
    out.extend_from_slice(format!("\tContent-Type: {protocol}\r\n").as_bytes());
    out.extend_from_slice(
        format!(
            "\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={plaintext_len}\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
    out.extend_from_slice(b"\tContent-Type: application/octet-stream\r\n");
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(ciphertext);
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// A decoded body: the announced protocol and plaintext length, the wrap header and the
/// ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts<'a> {
    /// `application/HTTP-Kerberos-session-encrypted` or `...-SPNEGO-...`.
    pub protocol: String,
    /// Length of the plaintext the sender wrapped.
    pub plaintext_len: usize,
    /// GSS wrap header (token header, confounder, checksum).
    pub header: &'a [u8],
    /// Encrypted SOAP envelope.
    pub ciphertext: &'a [u8],
}

/// Why a body is not a valid encrypted WinRM message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// A required boundary or header line is missing.
    #[error("encrypted body: {0} missing")]
    Missing(&'static str),
    /// The announced length is not a number or absurd.
    #[error("encrypted body: bad Length {0:?}")]
    BadLength(String),
    /// The 4-byte header length points past the end of the body.
    #[error("encrypted body: header length {0} exceeds the payload ({1} bytes)")]
    HeaderTooLong(u32, usize),
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Splits an encrypted body into its parts. Accepts both terminations seen in the wild
/// (`--Encrypted Boundary--\r\n` and `--Encrypted Boundary\r\n`).
pub fn decode(body: &[u8]) -> Result<Parts<'_>, FramingError> {
    let open = format!("--{BOUNDARY}\r\n");
    let open = open.as_bytes();
    let first = find(body, open, 0).ok_or(FramingError::Missing("opening boundary"))?;
    let meta_start = first + open.len();
    let second = find(body, open, meta_start).ok_or(FramingError::Missing("second boundary"))?;
    let meta = String::from_utf8_lossy(&body[meta_start..second]);
    let mut protocol = None;
    let mut length = None;
    for line in meta.split("\r\n").map(str::trim) {
        if let Some(v) = line.strip_prefix("Content-Type:") {
            protocol = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("OriginalContent:") {
            length = v.split(';').find_map(|p| p.trim().strip_prefix("Length="));
            if length.is_none() {
                return Err(FramingError::Missing("OriginalContent Length"));
            }
            length = length.map(str::trim);
        }
    }
    let protocol = protocol.ok_or(FramingError::Missing("protocol Content-Type"))?;
    let length = length.ok_or(FramingError::Missing("OriginalContent"))?;
    let plaintext_len: usize = length
        .parse()
        .ok()
        .filter(|n| *n <= MAX_LENGTH)
        .ok_or_else(|| FramingError::BadLength(length.to_owned()))?;
    let mut payload = &body[second + open.len()..];
    let octet = b"\tContent-Type: application/octet-stream\r\n";
    payload = payload
        .strip_prefix(octet.as_slice())
        .or_else(|| payload.strip_prefix(&octet[1..]))
        .ok_or(FramingError::Missing("application/octet-stream part"))?;
    let closing = format!("--{BOUNDARY}--\r\n");
    let reopen = format!("--{BOUNDARY}\r\n");
    if let Some(p) = payload.strip_suffix(closing.as_bytes()) {
        payload = p;
    } else if let Some(p) = payload.strip_suffix(reopen.as_bytes()) {
        payload = p;
    } else {
        return Err(FramingError::Missing("closing boundary"));
    }
    let (len_bytes, rest) = payload
        .split_first_chunk::<4>()
        .ok_or(FramingError::Missing("header length"))?;
    let header_len = u32::from_le_bytes(*len_bytes);
    if header_len as usize > rest.len() {
        return Err(FramingError::HeaderTooLong(header_len, rest.len()));
    }
    let (header, ciphertext) = rest.split_at(header_len as usize);
    Ok(Parts {
        protocol,
        plaintext_len,
        header,
        ciphertext,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KRB: &str = "application/HTTP-Kerberos-session-encrypted";

    #[test]
    fn round_trip() {
        let body = encode(KRB, 3240, &[7u8; 60], b"\x01\x02\r\n--\x03");
        let p = decode(&body).unwrap();
        assert_eq!(p.protocol, KRB);
        assert_eq!(p.plaintext_len, 3240);
        assert_eq!(p.header, &[7u8; 60]);
        assert_eq!(p.ciphertext, b"\x01\x02\r\n--\x03");
    }

    #[test]
    fn layout_is_byte_exact() {
        let body = encode(KRB, 5, b"HH", b"cc");
        let want = b"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-Kerberos-session-encrypted\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=5\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n\x02\x00\x00\x00HHcc--Encrypted Boundary--\r\n";
        assert_eq!(body, want.to_vec());
    }

    #[test]
    fn accepts_the_non_final_closing_boundary() {
        let mut body = encode(KRB, 1, b"H", b"c");
        let n = body.len();
        body.truncate(n - b"--Encrypted Boundary--\r\n".len());
        body.extend_from_slice(b"--Encrypted Boundary\r\n");
        assert_eq!(decode(&body).unwrap().ciphertext, b"c");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let good = encode(KRB, 9, &[1; 60], &[2; 9]);
        for cut in 0..good.len() {
            let _ = decode(&good[..cut]);
        }
        assert!(matches!(decode(b""), Err(FramingError::Missing(_))));
        let huge =
            String::from_utf8_lossy(&good).replace("Length=9", "Length=99999999999999999999");
        assert!(matches!(
            decode(huge.as_bytes()),
            Err(FramingError::BadLength(_))
        ));
        let mut bad_len = good.clone();
        let at = find(&bad_len, b"octet-stream\r\n", 0).unwrap() + 14;
        bad_len[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode(&bad_len),
            Err(FramingError::HeaderTooLong(..))
        ));
    }
}
