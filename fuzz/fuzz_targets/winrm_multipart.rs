//! Fuzz target: the `multipart/encrypted` framing of WinRM message encryption
//! ([`krbprobe::winrm::multipart::decode`] and [`encode`]).
//!
//! Each input is used twice: as a body to decode (its parts must lie inside it and encode back
//! to the same parts), and as the parts of a message to encode (decoding must give them back).

#![no_main]

use std::sync::LazyLock;

use krbprobe::winrm::multipart::{self, FramingError, MAX_LENGTH, Parts, decode, encode};
use libfuzzer_sys::fuzz_target;

/// `KRBPROBE_FUZZ_SHOW=1` prints what each input gave (for checking seeds and triaging crashes).
static SHOW: LazyLock<bool> = LazyLock::new(|| std::env::var_os("KRBPROBE_FUZZ_SHOW").is_some());

/// Protocols seen in the wild.
const PROTOCOLS: [&str; 3] = [
    "application/HTTP-Kerberos-session-encrypted",
    "application/HTTP-SPNEGO-session-encrypted",
    "application/HTTP-CredSSP-session-encrypted",
];

fuzz_target!(|data: &[u8]| {
    decode_any(data);
    encode_then_decode(data);
});

fn decode_any(body: &[u8]) {
    if *SHOW {
        eprintln!("{:#?}", decode(body));
    }
    let parts = match decode(body) {
        Ok(p) => p,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert!(parts.plaintext_len <= MAX_LENGTH);
    // The header and the ciphertext are adjacent slices of the body, after the 4-byte length.
    let start = body.as_ptr() as usize;
    let header = parts.header.as_ptr() as usize;
    let ciphertext = parts.ciphertext.as_ptr() as usize;
    assert!(header >= start + 4);
    assert_eq!(header + parts.header.len(), ciphertext);
    assert!(ciphertext + parts.ciphertext.len() <= start + body.len());
    let announced =
        u32::from_le_bytes(body[header - start - 4..header - start].try_into().unwrap());
    assert_eq!(announced as usize, parts.header.len());
    assert_eq!(parts.protocol, parts.protocol.trim());

    if reencodable(&parts.protocol) {
        let again = encode(
            &parts.protocol,
            parts.plaintext_len,
            parts.header,
            parts.ciphertext,
        );
        assert_eq!(
            decode(&again),
            Ok(parts.clone()),
            "decode . encode . decode"
        );
    }
}

/// A protocol that `encode` writes back unambiguously. `encode` does not escape: a protocol
/// ending in `--Encrypted Boundary` would put a boundary line into the header part (the
/// decoder then reads a different message, which is right), and CR or LF would split the line.
fn reencodable(protocol: &str) -> bool {
    !protocol.ends_with(&format!("--{}", multipart::BOUNDARY)) && !protocol.contains(['\r', '\n'])
}

/// Input layout: protocol selector (1 byte; 0xff means "a protocol of the input's own", then
/// its length (1 byte) and bytes), plaintext length (4 bytes LE), header length (2 bytes LE),
/// then header and ciphertext. Missing bytes count as zero.
fn encode_then_decode(data: &[u8]) {
    let mut rest = data;
    let mut take = |n: usize| {
        let (head, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        head
    };
    let selector = take(1).first().copied().unwrap_or(0);
    let own;
    let protocol = if selector == 0xff {
        let len = take(1).first().copied().unwrap_or(0) as usize;
        own = String::from_utf8_lossy(take(len)).trim().to_owned();
        if !reencodable(&own) {
            return;
        }
        own.as_str()
    } else {
        PROTOCOLS[usize::from(selector) % PROTOCOLS.len()]
    };
    let mut len_bytes = [0u8; 4];
    let got = take(4);
    len_bytes[..got.len()].copy_from_slice(got);
    let plaintext_len = u32::from_le_bytes(len_bytes) as usize;
    let mut hl = [0u8; 2];
    let got = take(2);
    hl[..got.len()].copy_from_slice(got);
    let header = take(usize::from(u16::from_le_bytes(hl)));
    let ciphertext = rest;

    let body = encode(protocol, plaintext_len, header, ciphertext);
    let expected = if plaintext_len <= MAX_LENGTH {
        Ok(Parts {
            protocol: protocol.to_owned(),
            plaintext_len,
            header,
            ciphertext,
        })
    } else {
        Err(FramingError::BadLength(plaintext_len.to_string()))
    };
    assert_eq!(decode(&body), expected, "encode . decode");
}
