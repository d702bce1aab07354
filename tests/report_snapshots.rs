//! Snapshot tests of the text and JSON renderings of a report. The report is built from
//! findings as the checks build them, so the layout, colours-off text and JSON schema are
//! pinned; live lab runs are asserted structurally in `tests/lab.rs`.

use krbprobe::codes;
use krbprobe::render;
use krbprobe::report::{Finding, Report, ToolInfo};
use std::time::Duration;

fn sample() -> Report {
    let tool = ToolInfo {
        name: "krbprobe",
        version: "0.0.0-test",
        mit_krb5: "1.20.1 (Debian 1.20.1-2+deb12u5)",
        krb5_conf: "/etc/krb5.conf".into(),
        krb5_conf_origin: "default",
        user: Some("awx@KUROKOBO.INTERNAL".into()),
        credential: "password",
        targets: vec![
            "kuro-win01.kurokobo.internal".into(),
            "kuro-win02.kurokobo.internal".into(),
        ],
        endpoints: vec![
            "http://kuro-win01.kurokobo.internal:5985/wsman".into(),
            "http://kuro-win02.kurokobo.internal:5985/wsman".into(),
        ],
        port: 5985,
        scheme: "http",
        timeout_ms: 3000,
        insecure: false,
    };
    let t1 = "kuro-win01.kurokobo.internal";
    let t2 = "kuro-win02.kurokobo.internal";
    let checks = vec![
        Finding::new("krb5-conf", codes::KRB5_CONF_OK, "/etc/krb5.conf parses; default_realm KUROKOBO.INTERNAL")
            .evidence("default_realm", "KUROKOBO.INTERNAL"),
        Finding::new("principal", codes::PRINCIPAL_OK, "awx@KUROKOBO.INTERNAL (realm configured)"),
        Finding::new("dns-kdc", codes::DNS_KDC_OK, "KDCs of KUROKOBO.INTERNAL resolve: kuro-ad01.kurokobo.internal -> 127.0.0.10"),
        Finding::new("dns-target", codes::DNS_TARGET_OK, "kuro-win01.kurokobo.internal -> 127.0.0.20 (PTR kuro-win01.kurokobo.internal); SPN HTTP/kuro-win01.kurokobo.internal").target(t1),
        Finding::new("dns-target", codes::DNS_TARGET_OK, "kuro-win02.kurokobo.internal -> 127.0.0.21 (PTR kuro-win02.kurokobo.internal); SPN HTTP/kuro-win02.kurokobo.internal").target(t2),
        Finding::new("kdc-reach", codes::KDC_CLOCK_DRIFT, "kuro-ad01.kurokobo.internal (127.0.0.10:88)'s clock is 75 s ahead of this pod's")
            .evidence("clock_offset_s", 75.2),
        Finding::new("winrm-http", codes::WINRM_HTTP_OK, "http://kuro-win01.kurokobo.internal:5985/wsman answers 401 offering Negotiate, Kerberos (Microsoft-HTTPAPI/2.0)").target(t1),
        Finding::new("winrm-http", codes::WINRM_HTTP_OK, "http://kuro-win02.kurokobo.internal:5985/wsman answers 401 offering Negotiate, Kerberos (Microsoft-HTTPAPI/2.0)").target(t2),
        Finding::new("kinit", codes::KINIT_OK, "TGT for awx@KUROKOBO.INTERNAL (password), valid 10 h 0 min"),
        Finding::new("spn-ticket", codes::SPN_TICKET_OK, "service ticket for HTTP/kuro-win01.kurokobo.internal@KUROKOBO.INTERNAL").target(t1),
        Finding::new("spn-ticket", codes::SPN_UNKNOWN, "HTTP/kuro-win02.kurokobo.internal: Server not found in Kerberos database (Unspecified GSS failure.  Minor code may provide more information)")
            .target(t2)
            .evidence("minor", -1765328377)
            .evidence("minor_text", "Server not found in Kerberos database"),
    ];
    Report::new(tool, checks, Duration::from_millis(42))
}

#[test]
fn text_report() {
    let mut out = Vec::new();
    render::text(&sample(), &mut out, false).unwrap();
    insta::assert_snapshot!("text_report", String::from_utf8(out).unwrap());
}

#[test]
fn text_report_colours_only_when_asked() {
    let mut plain = Vec::new();
    render::text(&sample(), &mut plain, false).unwrap();
    assert!(!plain.contains(&0x1b));
    let mut styled = Vec::new();
    render::text(&sample(), &mut styled, true).unwrap();
    assert!(styled.contains(&0x1b));
}

#[test]
fn json_report() {
    let mut out = Vec::new();
    render::json(&sample(), &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["verdict"], "fail");
    insta::assert_json_snapshot!("json_report", v);
}
