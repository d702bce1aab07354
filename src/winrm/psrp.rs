//! MS-PSRP, as far as opening and closing a runspace pool goes: what pypsrp's
//! `RunspacePool.open()` sends in the WS-Man Create (`creationXml`: SESSION_CAPABILITY and
//! INIT_RUNSPACEPOOL) and what the host answers in Receive (SESSION_CAPABILITY,
//! APPLICATION_PRIVATE_DATA, RUNSPACEPOOL_STATE).
//!
//! The wire format (MS-PSRP 2.2.4 and 2.2.1): a stream of fragments, each
//! `ObjectId u64 BE, FragmentId u64 BE, flags u8 (Start 1, End 2), length u32 BE, blob`;
//! the blobs of one ObjectId joined make a message,
//! `Destination u32 LE, MessageType u32 LE, RPID 16 bytes, PID 16 bytes, data` with the
//! GUIDs in .NET's byte order and the data UTF-8 CLIXML (with a BOM). Everything read from the
//! host is bounded: a message over [`MAX_MESSAGE`] or more than [`MAX_FRAGMENTS`] fragments is
//! an error, never an allocation of what a length field claims.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use quick_xml::Reader;
use quick_xml::events::Event;

/// Largest message reassembled from the host's fragments.
pub const MAX_MESSAGE: usize = 1024 * 1024;

/// Most fragments read from one answer.
pub const MAX_FRAGMENTS: usize = 4096;

/// Longest text kept from one CLIXML element (an error record's message).
pub const MAX_TEXT: usize = 2048;

/// Fragment header size: ObjectId, FragmentId, flags, blob length.
const FRAGMENT_HEADER: usize = 8 + 8 + 1 + 4;

/// Message header size: Destination, MessageType, RPID, PID.
const MESSAGE_HEADER: usize = 4 + 4 + 16 + 16;

/// The UTF-8 byte order mark PowerShell puts before the CLIXML.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// SESSION_CAPABILITY (both directions).
pub const SESSION_CAPABILITY: u32 = 0x0001_0002;
/// INIT_RUNSPACEPOOL (client to server).
pub const INIT_RUNSPACEPOOL: u32 = 0x0001_0004;
/// RUNSPACEPOOL_STATE (server to client).
pub const RUNSPACEPOOL_STATE: u32 = 0x0002_1005;
/// APPLICATION_PRIVATE_DATA (server to client).
pub const APPLICATION_PRIVATE_DATA: u32 = 0x0002_1009;

/// Destination: the client.
pub const TO_CLIENT: u32 = 1;
/// Destination: the server.
pub const TO_SERVER: u32 = 2;

/// One PSRP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// [`TO_CLIENT`] or [`TO_SERVER`].
    pub destination: u32,
    /// The message type (e.g. [`RUNSPACEPOOL_STATE`]).
    pub message_type: u32,
    /// The runspace pool's id, in .NET byte order.
    pub rpid: [u8; 16],
    /// The pipeline's id (all zero for pool messages).
    pub pid: [u8; 16],
    /// The CLIXML, BOM included as sent.
    pub data: Vec<u8>,
}

impl Message {
    /// The wire form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MESSAGE_HEADER + self.data.len());
        out.extend_from_slice(&self.destination.to_le_bytes());
        out.extend_from_slice(&self.message_type.to_le_bytes());
        out.extend_from_slice(&self.rpid);
        out.extend_from_slice(&self.pid);
        out.extend_from_slice(&self.data);
        out
    }

    /// Reads a message from its wire form.
    pub fn decode(b: &[u8]) -> Result<Message, PsrpError> {
        if b.len() < MESSAGE_HEADER {
            return Err(PsrpError(format!(
                "a message of {} bytes is shorter than its {MESSAGE_HEADER}-byte header",
                b.len()
            )));
        }
        let u32le = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut rpid = [0u8; 16];
        let mut pid = [0u8; 16];
        rpid.copy_from_slice(&b[8..24]);
        pid.copy_from_slice(&b[24..40]);
        Ok(Message {
            destination: u32le(0),
            message_type: u32le(4),
            rpid,
            pid,
            data: b[MESSAGE_HEADER..].to_vec(),
        })
    }

    /// The CLIXML as text, without the BOM.
    pub fn xml(&self) -> String {
        let d = self.data.strip_prefix(BOM).unwrap_or(&self.data);
        String::from_utf8_lossy(d).into_owned()
    }
}

/// What is wrong with PSRP data from the host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PSRP: {0}")]
pub struct PsrpError(pub String);

/// One message as fragments of at most `max_blob` bytes each, ids from `object_id`.
pub fn fragment(object_id: u64, message: &[u8], max_blob: usize) -> Vec<u8> {
    let max_blob = max_blob.max(1);
    let chunks: Vec<&[u8]> = if message.is_empty() {
        vec![&[]]
    } else {
        message.chunks(max_blob).collect()
    };
    let last = chunks.len() - 1;
    let mut out = Vec::with_capacity(message.len() + chunks.len() * FRAGMENT_HEADER);
    for (i, chunk) in chunks.iter().enumerate() {
        let mut flags = 0u8;
        if i == 0 {
            flags |= 1;
        }
        if i == last {
            flags |= 2;
        }
        out.extend_from_slice(&object_id.to_be_bytes());
        out.extend_from_slice(&(i as u64).to_be_bytes());
        out.push(flags);
        out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// Reassembles messages from fragment streams, which may split a fragment anywhere (one
/// Receive's stream chunk ends, the next goes on).
#[derive(Debug, Default)]
pub struct Defragmenter {
    pending: Vec<u8>,
    partial: Option<(u64, u64, Vec<u8>)>,
    fragments: usize,
}

impl Defragmenter {
    /// Feeds stream bytes; returns the messages completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Message>, PsrpError> {
        if self.pending.len() + bytes.len() > MAX_MESSAGE + FRAGMENT_HEADER {
            return Err(PsrpError(format!(
                "more than {MAX_MESSAGE} bytes without a complete fragment"
            )));
        }
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut at = 0;
        while self.pending.len() - at >= FRAGMENT_HEADER {
            let h = &self.pending[at..at + FRAGMENT_HEADER];
            let object_id = u64::from_be_bytes(h[0..8].try_into().expect("8 bytes"));
            let fragment_id = u64::from_be_bytes(h[8..16].try_into().expect("8 bytes"));
            let flags = h[16];
            let len = u32::from_be_bytes(h[17..21].try_into().expect("4 bytes")) as usize;
            if len > MAX_MESSAGE {
                return Err(PsrpError(format!(
                    "fragment {fragment_id} of object {object_id} claims {len} bytes (limit {MAX_MESSAGE})"
                )));
            }
            if self.pending.len() - at - FRAGMENT_HEADER < len {
                break;
            }
            self.fragments += 1;
            if self.fragments > MAX_FRAGMENTS {
                return Err(PsrpError(format!("more than {MAX_FRAGMENTS} fragments")));
            }
            let blob = &self.pending[at + FRAGMENT_HEADER..at + FRAGMENT_HEADER + len];
            at += FRAGMENT_HEADER + len;
            let start = flags & 1 != 0;
            let end = flags & 2 != 0;
            let mut acc = match (start, self.partial.take()) {
                (true, None) => (object_id, fragment_id, Vec::new()),
                (true, Some((o, _, _))) => {
                    return Err(PsrpError(format!(
                        "object {object_id} starts while object {o} is incomplete"
                    )));
                }
                (false, None) => {
                    return Err(PsrpError(format!(
                        "fragment {fragment_id} of object {object_id} continues nothing"
                    )));
                }
                (false, Some((o, f, data))) => {
                    // checked: a FragmentId of u64::MAX is the host's, not ours to overflow on.
                    if o != object_id || f.checked_add(1) != Some(fragment_id) {
                        return Err(PsrpError(format!(
                            "fragment {fragment_id} of object {object_id} after fragment {f} of object {o}"
                        )));
                    }
                    (o, fragment_id, data)
                }
            };
            if acc.2.len() + blob.len() > MAX_MESSAGE {
                return Err(PsrpError(format!(
                    "object {object_id} is larger than {MAX_MESSAGE} bytes"
                )));
            }
            acc.2.extend_from_slice(blob);
            acc.1 = fragment_id;
            if end {
                out.push(Message::decode(&acc.2)?);
            } else {
                self.partial = Some(acc);
            }
        }
        self.pending.drain(..at);
        Ok(out)
    }

    /// True when no message is half received.
    pub fn is_idle(&self) -> bool {
        self.partial.is_none() && self.pending.is_empty()
    }
}

/// A GUID in .NET's byte order (`Guid.ToByteArray()`: the first three fields little endian)
/// from 16 random bytes, and its text form.
pub fn guid(random: [u8; 16]) -> ([u8; 16], String) {
    let mut b = random;
    // Version 4, RFC 4122 variant, in the text form's fields.
    b[7] = (b[7] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let text = format!(
        "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10..]
            .iter()
            .map(|x| format!("{x:02X}"))
            .collect::<String>()
    );
    (b, text)
}

/// SESSION_CAPABILITY's CLIXML as pypsrp sends it (PSRP protocol 2.3, PowerShell 2.0).
pub fn session_capability_xml() -> String {
    "<Obj RefId=\"0\"><MS><Version N=\"protocolversion\">2.3</Version>\
     <Version N=\"PSVersion\">2.0</Version><Version N=\"SerializationVersion\">1.1.0.1</Version>\
     </MS></Obj>"
        .to_owned()
}

/// INIT_RUNSPACEPOOL's CLIXML as pypsrp's `RunspacePool.open()` sends it: one runspace, no
/// host, default thread options.
pub fn init_runspace_pool_xml() -> String {
    let enum_obj = |name: &str, refid: u32, tn: u32, ty: &str, text: &str, value: i32| {
        format!(
            "<Obj N=\"{name}\" RefId=\"{refid}\"><TN RefId=\"{tn}\"><T>{ty}</T><T>System.Enum</T>\
             <T>System.ValueType</T><T>System.Object</T></TN><ToString>{text}</ToString>\
             <I32>{value}</I32></Obj>"
        )
    };
    format!(
        "<Obj RefId=\"0\"><MS><I32 N=\"MinRunspaces\">1</I32><I32 N=\"MaxRunspaces\">1</I32>{}{}\
         <Obj N=\"HostInfo\" RefId=\"3\"><MS><B N=\"_isHostNull\">true</B>\
         <B N=\"_isHostUINull\">true</B><B N=\"_isHostRawUINull\">true</B>\
         <B N=\"_useRunspaceHost\">true</B></MS></Obj><Nil N=\"ApplicationArguments\" /></MS></Obj>",
        enum_obj(
            "PSThreadOptions",
            1,
            0,
            "System.Management.Automation.Runspaces.PSThreadOptions",
            "Default",
            0
        ),
        enum_obj(
            "ApartmentState",
            2,
            1,
            "System.Threading.ApartmentState",
            "Unknown",
            2
        ),
    )
}

/// The `creationXml` of the Create that opens pool `rpid`: SESSION_CAPABILITY and
/// INIT_RUNSPACEPOOL, each one fragment of its own object, base64 encoded.
pub fn creation_xml(rpid: [u8; 16]) -> String {
    let msg = |message_type: u32, xml: String| {
        let mut data = BOM.to_vec();
        data.extend_from_slice(xml.as_bytes());
        Message {
            destination: TO_SERVER,
            message_type,
            rpid,
            pid: [0; 16],
            data,
        }
        .encode()
    };
    let mut blob = fragment(
        1,
        &msg(SESSION_CAPABILITY, session_capability_xml()),
        32 * 1024,
    );
    blob.extend(fragment(
        2,
        &msg(INIT_RUNSPACEPOOL, init_runspace_pool_xml()),
        32 * 1024,
    ));
    B64.encode(blob)
}

/// A runspace pool's state (RunspacePoolState in MS-PSRP 2.2.3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolState {
    /// The number: 2 Opened, 3 Closed, 5 Broken, ...
    pub state: i32,
    /// The error record's message, for Broken.
    pub error: Option<String>,
}

impl PoolState {
    /// The state's name.
    pub fn name(&self) -> &'static str {
        match self.state {
            0 => "BeforeOpen",
            1 => "Opening",
            2 => "Opened",
            3 => "Closed",
            4 => "Closing",
            5 => "Broken",
            6 => "NegotiationSent",
            7 => "NegotiationSucceeded",
            8 => "Connecting",
            9 => "Disconnected",
            _ => "unknown",
        }
    }

    /// True when the pool can run pipelines.
    pub fn is_opened(&self) -> bool {
        self.state == 2
    }
}

/// Reads a RUNSPACEPOOL_STATE message's CLIXML: `<I32 N="RunspaceState">` and, when the pool
/// broke, the first message text of `ExceptionAsErrorRecord` (its `ToString`, else a
/// `Message` property).
pub fn pool_state(xml: &str) -> Result<PoolState, PsrpError> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<(String, Option<String>)> = Vec::new();
    let mut state = None;
    let mut error: Option<String> = None;
    let mut text = String::new();
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| PsrpError(format!("CLIXML at byte {}: {e}", reader.buffer_position())))?;
        match ev {
            Event::Start(e) => {
                if stack.len() > 64 {
                    return Err(PsrpError("CLIXML nested deeper than 64".into()));
                }
                let n = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == "N")
                    .map(|a| a.value.to_string());
                stack.push((e.local_name().as_ref().to_owned(), n));
                text.clear();
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                let room = MAX_TEXT.saturating_sub(text.chars().count());
                text.extend(s.chars().take(room));
            }
            Event::GeneralRef(r) => {
                let c = r
                    .resolve_char_ref()
                    .ok()
                    .flatten()
                    .map(String::from)
                    .or_else(|| {
                        quick_xml::escape::resolve_predefined_entity(&r).map(str::to_owned)
                    });
                if let Some(c) = c {
                    if text.chars().count() < MAX_TEXT {
                        text.push_str(&c);
                    }
                }
            }
            Event::End(_) => {
                let Some((tag, n)) = stack.pop() else {
                    continue;
                };
                let in_error = stack
                    .iter()
                    .any(|(_, n)| n.as_deref() == Some("ExceptionAsErrorRecord"));
                let t = text.trim().to_owned();
                if tag == "I32" && n.as_deref() == Some("RunspaceState") {
                    state = Some(
                        t.parse::<i32>()
                            .map_err(|_| PsrpError(format!("RunspaceState {t:?}")))?,
                    );
                } else if in_error
                    && error.is_none()
                    && !t.is_empty()
                    && (tag == "ToString" || n.as_deref() == Some("Message"))
                {
                    error = Some(t);
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let state = state.ok_or_else(|| PsrpError("no RunspaceState in RUNSPACEPOOL_STATE".into()))?;
    Ok(PoolState { state, error })
}

/// The pool's last state among `messages` (RUNSPACEPOOL_STATE for `rpid`), if any.
pub fn last_pool_state(messages: &[Message]) -> Result<Option<PoolState>, PsrpError> {
    let mut last = None;
    for m in messages
        .iter()
        .filter(|m| m.message_type == RUNSPACEPOOL_STATE)
    {
        last = Some(pool_state(&m.xml())?);
    }
    Ok(last)
}

/// A message type's name, for the report.
pub fn type_name(t: u32) -> String {
    match t {
        SESSION_CAPABILITY => "SESSION_CAPABILITY".into(),
        INIT_RUNSPACEPOOL => "INIT_RUNSPACEPOOL".into(),
        RUNSPACEPOOL_STATE => "RUNSPACEPOOL_STATE".into(),
        APPLICATION_PRIVATE_DATA => "APPLICATION_PRIVATE_DATA".into(),
        0x0002_1008 => "RUNSPACEPOOL_INIT_DATA".into(),
        0x0004_1002 => "PIPELINE_STATE".into(),
        other => format!("0x{other:08X}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RPID: [u8; 16] = [7; 16];

    fn msg(t: u32, xml: &str) -> Vec<u8> {
        let mut data = BOM.to_vec();
        data.extend_from_slice(xml.as_bytes());
        Message {
            destination: TO_CLIENT,
            message_type: t,
            rpid: RPID,
            pid: [0; 16],
            data,
        }
        .encode()
    }

    #[test]
    fn creation_xml_holds_the_two_opening_messages() {
        let raw = B64.decode(creation_xml(RPID)).unwrap();
        let mut d = Defragmenter::default();
        let msgs = d.push(&raw).unwrap();
        assert!(d.is_idle());
        assert_eq!(msgs.len(), 2);
        assert_eq!(
            (msgs[0].message_type, msgs[1].message_type),
            (SESSION_CAPABILITY, INIT_RUNSPACEPOOL)
        );
        for m in &msgs {
            assert_eq!((m.destination, m.rpid, m.pid), (TO_SERVER, RPID, [0; 16]));
            assert!(m.data.starts_with(BOM));
        }
        assert!(
            msgs[0]
                .xml()
                .contains("<Version N=\"protocolversion\">2.3</Version>")
        );
        let init = msgs[1].xml();
        assert!(init.contains("<I32 N=\"MaxRunspaces\">1</I32>"));
        assert!(init.contains("<B N=\"_isHostNull\">true</B>"));
        // Both are well-formed XML.
        for m in &msgs {
            let xml = m.xml();
            let mut r = Reader::from_str(&xml);
            while r.read_event().unwrap() != Event::Eof {}
        }
        // Object ids 1 and 2, one fragment each (Start|End).
        assert_eq!(&raw[0..8], &1u64.to_be_bytes());
        assert_eq!(raw[16], 3);
    }

    #[test]
    fn fragments_split_anywhere_reassemble() {
        let big = msg(APPLICATION_PRIVATE_DATA, &"x".repeat(10_000));
        let state = msg(
            RUNSPACEPOOL_STATE,
            "<Obj RefId=\"0\"><MS><I32 N=\"RunspaceState\">2</I32></MS></Obj>",
        );
        let mut wire = fragment(5, &big, 700);
        wire.extend(fragment(6, &state, 700));
        for cut in [1, 20, 21, 700, 5000, wire.len() - 1] {
            let mut d = Defragmenter::default();
            let mut got = d.push(&wire[..cut]).unwrap();
            got.extend(d.push(&wire[cut..]).unwrap());
            assert!(d.is_idle(), "cut {cut}");
            assert_eq!(got.len(), 2, "cut {cut}");
            assert_eq!(got[0].encode(), big);
            let s = last_pool_state(&got).unwrap().unwrap();
            assert!(s.is_opened());
            assert_eq!(s.name(), "Opened");
        }
    }

    #[test]
    fn a_broken_pool_names_the_error() {
        let xml = "<Obj RefId=\"0\"><MS><I32 N=\"RunspaceState\">5</I32>\
            <Obj N=\"ExceptionAsErrorRecord\" RefId=\"1\"><TN RefId=\"0\"><T>System.Management.Automation.ErrorRecord</T></TN>\
            <ToString>Access is denied &amp; more.</ToString><MS><S N=\"Message\">ignored</S></MS></Obj></MS></Obj>";
        let s = pool_state(xml).unwrap();
        assert_eq!((s.state, s.name()), (5, "Broken"));
        assert_eq!(s.error.as_deref(), Some("Access is denied & more."));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let good = fragment(1, &msg(RUNSPACEPOOL_STATE, "<Obj/>"), 100);
        // A continuation without a start, a length far beyond the limit, a short message.
        let mut orphan = good.clone();
        orphan[16] = 2;
        let mut huge = good.clone();
        huge[17..21].copy_from_slice(&u32::MAX.to_be_bytes());
        let short = fragment(1, b"short", 100);
        for bad in [orphan, huge, short] {
            assert!(Defragmenter::default().push(&bad).is_err());
        }
        // A message without RunspaceState, and CLIXML that is not XML.
        assert!(pool_state("<Obj><MS/></Obj>").is_err());
        assert!(pool_state("<Obj><I32 N=\"RunspaceState\">two</I32></Obj>").is_err());
        // Truncated input waits for more, and says so.
        let mut d = Defragmenter::default();
        assert!(d.push(&good[..good.len() - 1]).unwrap().is_empty());
        assert!(!d.is_idle());
        // A fragment id at the end of the u64 range (found by fuzz/regressions).
        let mut last = fragment(4, &[0; 50], 30);
        last[8..16].copy_from_slice(&u64::MAX.to_be_bytes());
        let mut d = Defragmenter::default();
        assert!(d.push(&last).is_err());
        // Random bytes never panic.
        let mut x: u32 = 12345;
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..300)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = Defragmenter::default().push(&bytes);
        }
    }

    #[test]
    fn guids_use_dotnet_byte_order() {
        let (b, text) = guid([
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ]);
        assert_eq!(text, "00112233-4455-4677-8899-AABBCCDDEEFF");
        assert_eq!(b[7], 0x46);
        assert_eq!(type_name(RUNSPACEPOOL_STATE), "RUNSPACEPOOL_STATE");
        assert_eq!(type_name(0x1234), "0x00001234");
    }
}
