//! The WS-Management messages krbprobe sends (Identify, Create and Delete of a `cmd` shell,
//! as pywinrm's `open_shell`/`close_shell` send them) and the parts of the answers it reads:
//! the identity, the ShellId, and SOAP/WS-Man faults.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use quick_xml::Reader;
use quick_xml::events::Event;
use serde::Serialize;

const NS: &str = r#"xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell""#;

/// The cmd shell resource pywinrm opens.
pub const SHELL_URI: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";

/// WS-Management Identify (needs no addressing headers).
pub fn identify() -> String {
    r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>"#.to_owned()
}

fn header(to: &str, action: &str, message_id: &str, extra: &str) -> String {
    header_for(to, SHELL_URI, action, message_id, extra)
}

fn header_for(to: &str, resource: &str, action: &str, message_id: &str, extra: &str) -> String {
    format!(
        "<s:Header><a:To>{to}</a:To><a:ReplyTo><a:Address s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>\
         <w:MaxEnvelopeSize s:mustUnderstand=\"true\">153600</w:MaxEnvelopeSize><a:MessageID>uuid:{message_id}</a:MessageID>\
         <w:Locale s:mustUnderstand=\"false\" xml:lang=\"en-US\"/><p:DataLocale s:mustUnderstand=\"false\" xml:lang=\"en-US\"/>\
         <w:OperationTimeout>PT20S</w:OperationTimeout><w:ResourceURI s:mustUnderstand=\"true\">{resource}</w:ResourceURI>\
         <a:Action s:mustUnderstand=\"true\">{action}</a:Action>{extra}</s:Header>"
    )
}

/// Create a cmd shell (what pywinrm's `open_shell` sends).
pub fn create_shell(to: &str, message_id: &str) -> String {
    let options = "<w:OptionSet><w:Option Name=\"WINRS_NOPROFILE\">FALSE</w:Option><w:Option Name=\"WINRS_CODEPAGE\">437</w:Option></w:OptionSet>";
    format!(
        "<s:Envelope {NS}>{}<s:Body><rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell></s:Body></s:Envelope>",
        header(
            to,
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
            message_id,
            options
        )
    )
}

/// Delete the shell `shell_id` (pywinrm's `close_shell`).
pub fn delete_shell(to: &str, message_id: &str, shell_id: &str) -> String {
    let selector = format!(
        "<w:SelectorSet><w:Selector Name=\"ShellId\">{}</w:Selector></w:SelectorSet>",
        escape(shell_id)
    );
    format!(
        "<s:Envelope {NS}>{}<s:Body/></s:Envelope>",
        header(
            to,
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
            message_id,
            &selector
        )
    )
}

/// Run `command` in the cmd shell `shell_id` (pywinrm's `run_command`, no arguments).
pub fn command(to: &str, message_id: &str, shell_id: &str, command: &str) -> String {
    let options = "<w:OptionSet><w:Option Name=\"WINRS_CONSOLEMODE_STDIN\">TRUE</w:Option><w:Option Name=\"WINRS_SKIP_CMD_SHELL\">FALSE</w:Option></w:OptionSet>";
    format!(
        "<s:Envelope {NS}>{}<s:Body><rsp:CommandLine><rsp:Command>{}</rsp:Command></rsp:CommandLine></s:Body></s:Envelope>",
        header(
            to,
            "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command",
            message_id,
            &format!("{}{options}", shell_selector(shell_id))
        ),
        escape(command)
    )
}

/// Receive the output of command `command_id` in shell `shell_id` (pywinrm's
/// `get_command_output`, one round).
pub fn receive(to: &str, message_id: &str, shell_id: &str, command_id: &str) -> String {
    format!(
        "<s:Envelope {NS}>{}<s:Body><rsp:Receive><rsp:DesiredStream CommandId=\"{}\">stdout stderr</rsp:DesiredStream></rsp:Receive></s:Body></s:Envelope>",
        header(
            to,
            "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive",
            message_id,
            &shell_selector(shell_id)
        ),
        escape(command_id)
    )
}

/// Where the PowerShell session configurations (endpoints) live in WS-Man.
pub const PS_RESOURCE_PREFIX: &str = "http://schemas.microsoft.com/powershell/";

/// The resource URI of the session configuration `name` (`Microsoft.PowerShell`).
pub fn ps_resource_uri(name: &str) -> String {
    format!("{PS_RESOURCE_PREFIX}{}", escape(name))
}

fn shell_selector(shell_id: &str) -> String {
    format!(
        "<w:SelectorSet><w:Selector Name=\"ShellId\">{}</w:Selector></w:SelectorSet>",
        escape(shell_id)
    )
}

/// Create a runspace pool (a PowerShell shell) on `resource`, as pypsrp's
/// `RunspacePool.open()` does: the pool's id as ShellId, streams `stdin pr`/`stdout`, PSRP's
/// protocol version as an option, and the opening messages as `creationXml`.
pub fn create_runspace_pool(
    to: &str,
    message_id: &str,
    resource: &str,
    shell_id: &str,
    creation_xml: &str,
) -> String {
    let options = "<w:OptionSet s:mustUnderstand=\"true\"><w:Option Name=\"protocolversion\" MustComply=\"true\">2.3</w:Option></w:OptionSet>";
    format!(
        "<s:Envelope {NS}>{}<s:Body><rsp:Shell ShellId=\"{}\"><rsp:InputStreams>stdin pr</rsp:InputStreams>\
         <rsp:OutputStreams>stdout</rsp:OutputStreams>\
         <creationXml xmlns=\"http://schemas.microsoft.com/powershell\">{}</creationXml></rsp:Shell></s:Body></s:Envelope>",
        header_for(
            to,
            resource,
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
            message_id,
            options
        ),
        escape(shell_id),
        escape(creation_xml)
    )
}

/// Receive the pool's `stdout` stream (its PSRP messages), as pypsrp does while opening.
pub fn receive_pool(to: &str, message_id: &str, resource: &str, shell_id: &str) -> String {
    let extra = format!(
        "{}<w:OptionSet s:mustUnderstand=\"true\"><w:Option Name=\"WSMAN_CMDSHELL_OPTION_KEEPALIVE\">TRUE</w:Option></w:OptionSet>",
        shell_selector(shell_id)
    );
    format!(
        "<s:Envelope {NS}>{}<s:Body><rsp:Receive><rsp:DesiredStream>stdout</rsp:DesiredStream></rsp:Receive></s:Body></s:Envelope>",
        header_for(
            to,
            resource,
            "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive",
            message_id,
            &extra
        )
    )
}

/// Delete (close) the pool `shell_id` on `resource`.
pub fn delete_pool(to: &str, message_id: &str, resource: &str, shell_id: &str) -> String {
    format!(
        "<s:Envelope {NS}>{}<s:Body/></s:Envelope>",
        header_for(
            to,
            resource,
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
            message_id,
            &shell_selector(shell_id)
        )
    )
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// A SOAP fault as WinRM returns it (HTTP 500).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// `s:Code/s:Value`, e.g. `s:Sender`.
    pub code: Option<String>,
    /// `s:Subcode/s:Value`, e.g. `w:AccessDenied`.
    pub subcode: Option<String>,
    /// `s:Reason/s:Text`.
    pub reason: Option<String>,
    /// `w:WSManFault/@Code`, the Windows error number (5 = access denied).
    pub wsman_code: Option<String>,
    /// `w:WSManFault/w:Message`.
    pub message: Option<String>,
}

impl Fault {
    /// True for the access-denied fault (subcode `w:AccessDenied` or WSManFault code 5).
    pub fn is_access_denied(&self) -> bool {
        self.subcode
            .as_deref()
            .is_some_and(|s| s.ends_with("AccessDenied"))
            || self.wsman_code.as_deref() == Some("5")
    }

    /// True for the fault of a Create on a PowerShell session configuration that the host
    /// does not have: "Cannot find the X session configuration in the WSMan: drive", or the
    /// resource URI named as not found in the WS-Management catalog.
    pub fn is_missing_configuration(&self) -> bool {
        let text = format!(
            "{} {}",
            self.message.as_deref().unwrap_or(""),
            self.reason.as_deref().unwrap_or("")
        )
        .to_ascii_lowercase();
        (text.contains("session configuration") && text.contains("cannot find"))
            || (text.contains("resource uri") && text.contains("not found"))
            || self
                .subcode
                .as_deref()
                .is_some_and(|s| s.ends_with("InvalidResourceURI"))
    }

    /// One line for summaries.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.subcode {
            parts.push(s.clone());
        }
        if let Some(c) = &self.wsman_code {
            parts.push(format!("code {c}"));
        }
        let text = self.message.as_ref().or(self.reason.as_ref());
        match text {
            Some(t) => format!("{} ({})", t.trim(), parts.join(", ")),
            None => parts.join(", "),
        }
    }
}

/// What a SOAP answer says, as far as the probe cares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// A fault, if the body is one.
    pub fault: Option<Fault>,
    /// `ShellId` of a Create answer.
    pub shell_id: Option<String>,
    /// `CommandId` of a CommandResponse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_id: Option<String>,
    /// Identify: `ProductVendor`.
    pub product_vendor: Option<String>,
    /// Identify: `ProductVersion`.
    pub product_version: Option<String>,
    /// Identify: `ProtocolVersion`.
    pub protocol_version: Option<String>,
    /// A ReceiveResponse's `rsp:Stream` elements, decoded (not in the report: bytes).
    #[serde(skip)]
    pub streams: Vec<Stream>,
}

/// One `rsp:Stream` of a ReceiveResponse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stream {
    /// `Name` (`stdout`, ...).
    pub name: String,
    /// `CommandId`, for a command's streams.
    pub command_id: Option<String>,
    /// `End="true"`.
    pub end: bool,
    /// The base64 content, decoded.
    pub data: Vec<u8>,
}

/// Most base64 text kept from the streams of one answer (WinRM's MaxEnvelopeSize is 500 KB).
pub const MAX_STREAM_TEXT: usize = 1024 * 1024;

/// Where the parser is, and what it found so far.
#[derive(Default)]
struct State {
    stack: Vec<String>,
    answer: Answer,
    fault: Fault,
    in_fault: bool,
    saw_envelope: bool,
    selector_is_shell: bool,
    /// Text of the current element since its last tag, entity references resolved.
    text: String,
    /// Inside an `rsp:Stream`: its base64 text so far.
    stream_text: Option<String>,
    /// Base64 text taken from all streams so far.
    stream_total: usize,
}

/// Longest text kept from one element.
pub const MAX_TEXT: usize = 4096;

impl State {
    fn push_text(&mut self, s: &str) {
        if let Some(b64) = &mut self.stream_text {
            let room = MAX_STREAM_TEXT.saturating_sub(self.stream_total);
            let take: String = s
                .chars()
                .filter(|c| !c.is_whitespace())
                .take(room)
                .collect();
            self.stream_total += take.len();
            b64.push_str(&take);
            return;
        }
        let room = (MAX_TEXT + 1).saturating_sub(self.text.chars().count());
        self.text.extend(s.chars().take(room));
    }

    /// Assigns the gathered text to the field the current element stands for.
    fn flush_text(&mut self) {
        let raw = std::mem::take(&mut self.text);
        let text: String = raw.trim().chars().take(MAX_TEXT).collect();
        if text.is_empty() {
            return;
        }
        let here = self.stack.last().map(String::as_str).unwrap_or("");
        let parent = self
            .stack
            .len()
            .checked_sub(2)
            .and_then(|i| self.stack.get(i))
            .map(String::as_str)
            .unwrap_or("");
        let fault = &mut self.fault;
        let answer = &mut self.answer;
        match (parent, here) {
            ("Code", "Value") => fault.code = Some(text),
            ("Subcode", "Value") => fault.subcode = Some(text),
            ("Reason", "Text") => fault.reason = Some(text),
            ("WSManFault", "Message") | ("Message", _) if self.in_fault => {
                fault.message = Some(
                    fault
                        .message
                        .take()
                        .map(|m| format!("{m} {text}"))
                        .unwrap_or(text),
                )
            }
            (_, "ShellId") => answer.shell_id = Some(text),
            ("CommandResponse", "CommandId") => answer.command_id = Some(text),
            (_, "Selector") if self.selector_is_shell => answer.shell_id = Some(text),
            (_, "ProductVendor") => answer.product_vendor = Some(text),
            (_, "ProductVersion") => answer.product_version = Some(text),
            (_, "ProtocolVersion") => answer.protocol_version = Some(text),
            _ => {}
        }
    }
}

/// Why a body could not be read as SOAP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SOAP envelope: {0}")]
pub struct NotSoap(pub String);

/// Reads the interesting parts of a SOAP envelope. Bounded: depth and text size are capped.
///
/// quick-xml reports entity references (`&amp;`, `&#x3E;`) as events of their own between text
/// pieces, so an element's text is gathered until its next tag and only then assigned.
pub fn parse(xml: &[u8]) -> Result<Answer, NotSoap> {
    let mut reader = Reader::from_reader(xml);
    let mut st = State::default();
    let mut buf = Vec::new();
    loop {
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| NotSoap(format!("at byte {}: {e}", reader.buffer_position())))?;
        if matches!(
            ev,
            Event::Start(_) | Event::Empty(_) | Event::End(_) | Event::Eof
        ) {
            st.flush_text();
        }
        match ev {
            Event::Start(e) | Event::Empty(e) if st.stack.len() > 64 => {
                let _ = e;
                return Err(NotSoap("nesting deeper than 64 elements".into()));
            }
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_owned();
                if name == "Envelope" {
                    st.saw_envelope = true;
                }
                if name == "Fault" {
                    st.in_fault = true;
                }
                if name == "WSManFault" {
                    st.fault.wsman_code = attr(&e, "Code");
                }
                if name == "Selector" {
                    st.selector_is_shell = attr(&e, "Name").as_deref() == Some("ShellId");
                }
                if name == "Stream" {
                    st.answer.streams.push(Stream {
                        name: attr(&e, "Name").unwrap_or_default(),
                        command_id: attr(&e, "CommandId"),
                        end: attr(&e, "End").as_deref() == Some("true"),
                        data: Vec::new(),
                    });
                    st.stream_text = Some(String::new());
                }
                st.stack.push(name);
            }
            Event::Empty(e) => {
                let name = e.local_name();
                if name.as_ref() == "Stream" {
                    st.answer.streams.push(Stream {
                        name: attr(&e, "Name").unwrap_or_default(),
                        command_id: attr(&e, "CommandId"),
                        end: attr(&e, "End").as_deref() == Some("true"),
                        data: Vec::new(),
                    });
                }
                if name.as_ref() == "Envelope" {
                    st.saw_envelope = true;
                }
                if name.as_ref() == "WSManFault" {
                    st.fault.wsman_code = attr(&e, "Code");
                    st.in_fault = true;
                }
            }
            Event::End(_) => {
                let closed = st.stack.pop();
                if let (Some("Stream"), Some(b64)) = (closed.as_deref(), st.stream_text.take()) {
                    let data = B64
                        .decode(b64.as_bytes())
                        .map_err(|e| NotSoap(format!("an rsp:Stream is not base64: {e}")))?;
                    if let Some(last) = st.answer.streams.last_mut() {
                        last.data = data;
                    }
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content();
                st.push_text(&text);
            }
            Event::CData(t) => st.push_text(&t.into_inner()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    _ => {
                        let name: &str = &r;
                        quick_xml::escape::resolve_predefined_entity(name).map(str::to_owned)
                    }
                };
                // An unknown entity (no DTD defines any) is kept as written.
                let text = resolved.unwrap_or_else(|| format!("&{};", &*r));
                st.push_text(&text);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let State {
        mut answer,
        fault,
        in_fault,
        saw_envelope,
        ..
    } = st;
    if !saw_envelope {
        return Err(NotSoap("no Envelope element".into()));
    }
    if in_fault {
        answer.fault = Some(fault);
    }
    Ok(answer)
}

fn attr(e: &quick_xml::events::BytesStart<'_>, local: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCESS_DENIED: &str = r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"><s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>w:AccessDenied</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">Access is denied. </s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="5" Machine="kuro-win01.kurokobo.internal"><f:Message>Access is denied. </f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>"#;

    #[test]
    fn access_denied_fault() {
        let a = parse(ACCESS_DENIED.as_bytes()).unwrap();
        let f = a.fault.unwrap();
        assert_eq!(f.code.as_deref(), Some("s:Sender"));
        assert_eq!(f.subcode.as_deref(), Some("w:AccessDenied"));
        assert_eq!(f.wsman_code.as_deref(), Some("5"));
        assert_eq!(
            f.message.as_deref().map(str::trim),
            Some("Access is denied.")
        );
        assert!(f.is_access_denied());
    }

    #[test]
    fn shell_id_and_identity() {
        let create = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Body><x:ResourceCreated xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer"><a:ReferenceParameters xmlns:a="x"><w:SelectorSet><w:Selector Name="ShellId">11111111-2222</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated><rsp:Shell><rsp:ShellId>11111111-2222</rsp:ShellId></rsp:Shell></s:Body></s:Envelope>"#;
        assert_eq!(
            parse(create.as_bytes()).unwrap().shell_id.as_deref(),
            Some("11111111-2222")
        );
        let ident = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Body><wsmid:IdentifyResponse><wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion><wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor><wsmid:ProductVersion>OS: 10.0.17763 SP: 0.0 Stack: 3.0</wsmid:ProductVersion></wsmid:IdentifyResponse></s:Body></s:Envelope>"#;
        let a = parse(ident.as_bytes()).unwrap();
        assert_eq!(a.product_vendor.as_deref(), Some("Microsoft Corporation"));
        assert!(a.fault.is_none());
    }

    /// Found by the `wsman_soap` fuzz target (fuzz/regressions/wsman_soap): quick-xml reports
    /// `&gt;` as an event of its own, and a ShellId of `>` used to be read back as nothing.
    #[test]
    fn entity_references_are_part_of_the_text() {
        for id in [">", "a&b", "x <y> 'z' \"q\"", "&&&"] {
            let xml = delete_shell("http://h:5985/wsman", "1", id);
            assert_eq!(parse(xml.as_bytes()).unwrap().shell_id.as_deref(), Some(id));
        }
        let fault = ACCESS_DENIED.replace(
            "Access is denied.",
            "Access &amp; &#x41;&#66; denied &unknown;.",
        );
        let a = parse(fault.as_bytes()).unwrap();
        assert_eq!(
            a.fault.unwrap().message.as_deref(),
            Some("Access & AB denied &unknown;.")
        );
    }

    #[test]
    fn garbage_is_not_soap() {
        assert!(parse(b"").is_err());
        assert!(parse(b"<html><body>404</body></html>").is_err());
        assert!(parse(b"\x00\xff<<<").is_err());
        let deep = "<a>".repeat(10_000);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn requests_are_well_formed() {
        for xml in [
            identify(),
            create_shell("http://h:5985/wsman", "1-2-3"),
            delete_shell("http://h:5985/wsman", "1-2-3", "S<&>"),
            create_runspace_pool(
                "http://h:5985/wsman",
                "1-2-3",
                &ps_resource_uri("Microsoft.PowerShell"),
                "ABC",
                "AAAA",
            ),
            receive_pool("http://h:5985/wsman", "1", &ps_resource_uri("X"), "ABC"),
            delete_pool("http://h:5985/wsman", "1", &ps_resource_uri("X"), "ABC"),
        ] {
            parse(xml.as_bytes()).unwrap();
        }
        let create = create_runspace_pool("t", "m", &ps_resource_uri("PowerShell.7"), "P1", "Q");
        assert!(
            create
                .contains(">http://schemas.microsoft.com/powershell/PowerShell.7</w:ResourceURI>")
        );
        assert!(create.contains("<rsp:Shell ShellId=\"P1\">"));
        assert!(create.contains("<rsp:InputStreams>stdin pr</rsp:InputStreams>"));
        // The cmd shell's requests keep their resource.
        assert!(create_shell("t", "m").contains(SHELL_URI));
    }

    #[test]
    fn receive_streams_are_decoded_and_bounded() {
        let xml = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Body><rsp:ReceiveResponse>
            <rsp:Stream Name="stdout">aGVs
            bG8=</rsp:Stream><rsp:Stream Name="stdout" CommandId="C1" End="true"/></rsp:ReceiveResponse></s:Body></s:Envelope>"#;
        let a = parse(xml.as_bytes()).unwrap();
        assert_eq!(a.streams.len(), 2);
        assert_eq!(a.streams[0].data, b"hello");
        assert_eq!(
            (a.streams[1].command_id.as_deref(), a.streams[1].end),
            (Some("C1"), true)
        );
        let bad = xml.replace("aGVs", "a!Vs");
        assert!(parse(bad.as_bytes()).unwrap_err().0.contains("base64"));
        // More base64 than the limit is cut, not kept (and then fails to decode or is short).
        let huge = format!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><Stream Name="stdout">{}</Stream></s:Body></s:Envelope>"#,
            "A".repeat(MAX_STREAM_TEXT + 8)
        );
        if let Ok(a) = parse(huge.as_bytes()) {
            assert!(a.streams[0].data.len() <= MAX_STREAM_TEXT / 4 * 3);
        }
    }
}
