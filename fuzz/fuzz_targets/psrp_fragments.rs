//! Fuzz target: the PSRP fragment stream and message reader
//! ([`krbprobe::winrm::psrp::Defragmenter`], [`krbprobe::winrm::psrp::pool_state`]): what a host
//! answers in the Receive of a runspace pool that is opening.
//!
//! Invariants: no panic; a message handed back is never larger than
//! [`krbprobe::winrm::psrp::MAX_MESSAGE`]; feeding the same bytes whole or in two pieces gives
//! the same messages (or an error in both); and a RUNSPACEPOOL_STATE message krbprobe frames
//! itself reads back with the state it was built with.

#![no_main]

use krbprobe::winrm::psrp::{self, Defragmenter, MAX_MESSAGE, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = Defragmenter::default().push(data);
    if let Ok(messages) = &whole {
        for m in messages {
            assert!(m.encode().len() <= MAX_MESSAGE);
            let _ = psrp::pool_state(&m.xml());
        }
    }
    if !data.is_empty() {
        let cut = usize::from(data[0]) % data.len();
        let mut d = Defragmenter::default();
        let split = d
            .push(&data[..cut])
            .and_then(|mut a| d.push(&data[cut..]).map(|b| {
                a.extend(b);
                a
            }));
        assert_eq!(whole.is_ok(), split.is_ok(), "cut at {cut}");
        if let (Ok(a), Ok(b)) = (&whole, &split) {
            assert_eq!(a, b, "cut at {cut}");
        }
    }

    // The input's first byte as a state in a message of our own framing.
    let state = i32::from(data.first().copied().unwrap_or(2));
    let xml = format!("<Obj RefId=\"0\"><MS><I32 N=\"RunspaceState\">{state}</I32></MS></Obj>");
    let m = Message {
        destination: psrp::TO_CLIENT,
        message_type: psrp::RUNSPACEPOOL_STATE,
        rpid: [1; 16],
        pid: [0; 16],
        data: xml.into_bytes(),
    };
    let wire = psrp::fragment(9, &m.encode(), 1 + data.len() % 64);
    let back = Defragmenter::default().push(&wire).expect("our own fragments");
    assert_eq!(back, vec![m.clone()]);
    let got = psrp::last_pool_state(&back).expect("our own state").expect("a state");
    assert_eq!(got.state, state);
});
