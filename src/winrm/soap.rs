//! The WS-Management messages krbprobe sends (Identify, Create and Delete of a `cmd` shell,
//! as pywinrm's `open_shell`/`close_shell` send them) and the parts of the answers it reads:
//! the identity, the ShellId, and SOAP/WS-Man faults.

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
    format!(
        "<s:Header><a:To>{to}</a:To><a:ReplyTo><a:Address s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>\
         <w:MaxEnvelopeSize s:mustUnderstand=\"true\">153600</w:MaxEnvelopeSize><a:MessageID>uuid:{message_id}</a:MessageID>\
         <w:Locale s:mustUnderstand=\"false\" xml:lang=\"en-US\"/><p:DataLocale s:mustUnderstand=\"false\" xml:lang=\"en-US\"/>\
         <w:OperationTimeout>PT20S</w:OperationTimeout><w:ResourceURI s:mustUnderstand=\"true\">{SHELL_URI}</w:ResourceURI>\
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
    /// Identify: `ProductVendor`.
    pub product_vendor: Option<String>,
    /// Identify: `ProductVersion`.
    pub product_version: Option<String>,
    /// Identify: `ProtocolVersion`.
    pub protocol_version: Option<String>,
}

/// Why a body could not be read as SOAP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SOAP envelope: {0}")]
pub struct NotSoap(pub String);

/// Reads the interesting parts of a SOAP envelope. Bounded: depth and text size are capped.
pub fn parse(xml: &[u8]) -> Result<Answer, NotSoap> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<String> = Vec::new();
    let mut answer = Answer::default();
    let mut fault = Fault::default();
    let mut in_fault = false;
    let mut saw_envelope = false;
    let mut selector_is_shell = false;
    let mut buf = Vec::new();
    loop {
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| NotSoap(format!("at byte {}: {e}", reader.buffer_position())))?;
        match ev {
            Event::Start(e) | Event::Empty(e) if stack.len() > 64 => {
                let _ = e;
                return Err(NotSoap("nesting deeper than 64 elements".into()));
            }
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_owned();
                if name == "Envelope" {
                    saw_envelope = true;
                }
                if name == "Fault" {
                    in_fault = true;
                }
                if name == "WSManFault" {
                    fault.wsman_code = attr(&e, "Code");
                }
                if name == "Selector" {
                    selector_is_shell = attr(&e, "Name").as_deref() == Some("ShellId");
                }
                stack.push(name);
            }
            Event::Empty(e) => {
                let name = e.local_name();
                if name.as_ref() == "Envelope" {
                    saw_envelope = true;
                }
                if name.as_ref() == "WSManFault" {
                    fault.wsman_code = attr(&e, "Code");
                    in_fault = true;
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                let text = t.xml10_content().into_owned();
                let text: String = text.chars().take(4096).collect();
                let here = stack.last().map(String::as_str).unwrap_or("");
                let parent = stack
                    .len()
                    .checked_sub(2)
                    .and_then(|i| stack.get(i))
                    .map(String::as_str)
                    .unwrap_or("");
                match (parent, here) {
                    ("Code", "Value") => fault.code = Some(text),
                    ("Subcode", "Value") => fault.subcode = Some(text),
                    ("Reason", "Text") => fault.reason = Some(text),
                    ("WSManFault", "Message") | ("Message", _) if in_fault => {
                        fault.message = Some(
                            fault
                                .message
                                .take()
                                .map(|m| format!("{m} {text}"))
                                .unwrap_or(text),
                        )
                    }
                    (_, "ShellId") => answer.shell_id = Some(text),
                    (_, "Selector") if selector_is_shell => answer.shell_id = Some(text),
                    (_, "ProductVendor") => answer.product_vendor = Some(text),
                    (_, "ProductVersion") => answer.product_version = Some(text),
                    (_, "ProtocolVersion") => answer.protocol_version = Some(text),
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
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
        ] {
            parse(xml.as_bytes()).unwrap();
        }
    }
}
