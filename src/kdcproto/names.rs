//! Names for the numbers in a reply: protocol error codes (with MIT's texts), enctypes,
//! pre-authentication types and Active Directory's NTSTATUS values.
//!
//! Tables and nothing else, kept apart from the decoder so that each can be read (and
//! checked against RFC 4120, MIT's `krb5_err.et` and MS-ERREF) on its own.

/// The RFC name and MIT `krb5_err.et` message of a protocol error code,
/// e.g. `(25)` → `("KDC_ERR_PREAUTH_REQUIRED", "Additional
/// pre-authentication required")`.
///
/// Names are those of RFC 4120, 4556 (PKINIT), 6113 (FAST) and 8636, and
/// Microsoft's `KDC_ERR_SVC_UNAVAILABLE` (29). Texts are MIT's, verbatim,
/// including `"KRB5 error code N"` for unassigned codes below 128.
pub fn error_name(code: i32) -> (&'static str, &'static str) {
    match usize::try_from(code).ok().and_then(|i| ERROR_TABLE.get(i)) {
        Some(&("", text)) => ("UNKNOWN_ERROR_CODE", text),
        Some(&entry) => entry,
        None => ("UNKNOWN_ERROR_CODE", "Unknown Kerberos protocol error code"),
    }
}

/// MIT's name of an enctype number, or `"unknown"`.
pub fn etype_name(etype: i32) -> &'static str {
    match etype {
        1 => "des-cbc-crc",
        2 => "des-cbc-md4",
        3 => "des-cbc-md5",
        5 => "des3-cbc-md5",
        7 => "des3-cbc-sha1-old",
        16 => "des3-cbc-sha1",
        17 => "aes128-cts-hmac-sha1-96",
        18 => "aes256-cts-hmac-sha1-96",
        19 => "aes128-cts-hmac-sha256-128",
        20 => "aes256-cts-hmac-sha384-192",
        23 => "rc4-hmac",
        24 => "rc4-hmac-exp",
        25 => "camellia128-cts-cmac",
        26 => "camellia256-cts-cmac",
        _ => "unknown",
    }
}

/// The IANA name of a `padata-type`, or `"PA-UNKNOWN"`.
pub fn padata_name(padata_type: i32) -> &'static str {
    match padata_type {
        1 => "PA-TGS-REQ",
        2 => "PA-ENC-TIMESTAMP",
        3 => "PA-PW-SALT",
        5 => "PA-ENC-UNIX-TIME",
        6 => "PA-SANDIA-SECUREID",
        7 => "PA-SESAME",
        8 => "PA-OSF-DCE",
        9 => "PA-CYBERSAFE-SECUREID",
        10 => "PA-AFS3-SALT",
        11 => "PA-ETYPE-INFO",
        12 => "PA-SAM-CHALLENGE",
        13 => "PA-SAM-RESPONSE",
        14 => "PA-PK-AS-REQ_OLD",
        15 => "PA-PK-AS-REP_OLD",
        16 => "PA-PK-AS-REQ",
        17 => "PA-PK-AS-REP",
        19 => "PA-ETYPE-INFO2",
        20 => "PA-SVR-REFERRAL-INFO",
        21 => "PA-SAM-REDIRECT",
        22 => "PA-GET-FROM-TYPED-DATA",
        25 => "PA-ALT-PRINC",
        30 => "PA-SAM-CHALLENGE2",
        31 => "PA-SAM-RESPONSE2",
        41 => "PA-EXTRA-TGT",
        128 => "PA-PAC-REQUEST",
        129 => "PA-FOR-USER",
        130 => "PA-FOR-X509-USER",
        131 => "PA-FOR-CHECK_DUPS",
        132 => "PA-AS-CHECKSUM",
        133 => "PA-FX-COOKIE",
        134 => "PA-AUTHENTICATION-SET",
        135 => "PA-AUTH-SET-SELECTED",
        136 => "PA-FX-FAST",
        137 => "PA-FX-ERROR",
        138 => "PA-ENCRYPTED-CHALLENGE",
        141 => "PA-OTP-CHALLENGE",
        142 => "PA-OTP-REQUEST",
        143 => "PA-OTP-CONFIRM",
        144 => "PA-OTP-PIN-CHANGE",
        145 => "PA-EPAK-AS-REQ",
        146 => "PA-EPAK-AS-REP",
        147 => "PA-PKINIT-KX",
        148 => "PA-PKU2U-NAME",
        149 => "PA-REQ-ENC-PA-REP",
        150 => "PA-AS-FRESHNESS",
        151 => "PA-SPAKE",
        161 => "KERB-KEY-LIST-REQ",
        162 => "KERB-KEY-LIST-REP",
        165 => "PA-SUPPORTED-ENCTYPES",
        166 => "PA-EXTENDED-ERROR",
        167 => "PA-PAC-OPTIONS",
        _ => "PA-UNKNOWN",
    }
}

/// The name of an NTSTATUS that Active Directory returns in a Kerberos
/// extended error, for the common logon failures.
pub fn ntstatus_name(status: u32) -> Option<&'static str> {
    Some(match status {
        0x0000_0000 => "STATUS_SUCCESS",
        0xC000_0022 => "STATUS_ACCESS_DENIED",
        0xC000_005E => "STATUS_NO_LOGON_SERVERS",
        0xC000_0064 => "STATUS_NO_SUCH_USER",
        0xC000_006A => "STATUS_WRONG_PASSWORD",
        0xC000_006D => "STATUS_LOGON_FAILURE",
        0xC000_006E => "STATUS_ACCOUNT_RESTRICTION",
        0xC000_006F => "STATUS_INVALID_LOGON_HOURS",
        0xC000_0070 => "STATUS_INVALID_WORKSTATION",
        0xC000_0071 => "STATUS_PASSWORD_EXPIRED",
        0xC000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xC000_00BB => "STATUS_NOT_SUPPORTED",
        0xC000_0133 => "STATUS_TIME_DIFFERENCE_AT_DC",
        0xC000_015B => "STATUS_LOGON_TYPE_NOT_GRANTED",
        0xC000_018B => "STATUS_NO_TRUST_SAM_ACCOUNT",
        0xC000_0193 => "STATUS_ACCOUNT_EXPIRED",
        0xC000_0224 => "STATUS_PASSWORD_MUST_CHANGE",
        0xC000_0225 => "STATUS_NOT_FOUND",
        0xC000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        0xC000_0388 => "STATUS_DOWNGRADE_DETECTED",
        0xC000_0413 => "STATUS_AUTHENTICATION_FIREWALL_FAILED",
        _ => return None,
    })
}

/// RFC names and MIT texts for codes 0..=100. An empty name marks a code
/// no RFC assigns; its text is MIT's placeholder.
static ERROR_TABLE: [(&str, &str); 101] = [
    ("KDC_ERR_NONE", "No error"),
    ("KDC_ERR_NAME_EXP", "Client's entry in database has expired"),
    (
        "KDC_ERR_SERVICE_EXP",
        "Server's entry in database has expired",
    ),
    (
        "KDC_ERR_BAD_PVNO",
        "Requested protocol version not supported",
    ),
    (
        "KDC_ERR_C_OLD_MAST_KVNO",
        "Client's key is encrypted in an old master key",
    ),
    (
        "KDC_ERR_S_OLD_MAST_KVNO",
        "Server's key is encrypted in an old master key",
    ),
    (
        "KDC_ERR_C_PRINCIPAL_UNKNOWN",
        "Client not found in Kerberos database",
    ),
    (
        "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        "Server not found in Kerberos database",
    ),
    (
        "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
        "Principal has multiple entries in Kerberos database",
    ),
    ("KDC_ERR_NULL_KEY", "Client or server has a null key"),
    (
        "KDC_ERR_CANNOT_POSTDATE",
        "Ticket is ineligible for postdating",
    ),
    (
        "KDC_ERR_NEVER_VALID",
        "Requested effective lifetime is negative or too short",
    ),
    ("KDC_ERR_POLICY", "KDC policy rejects request"),
    ("KDC_ERR_BADOPTION", "KDC can't fulfill requested option"),
    (
        "KDC_ERR_ETYPE_NOSUPP",
        "KDC has no support for encryption type",
    ),
    (
        "KDC_ERR_SUMTYPE_NOSUPP",
        "KDC has no support for checksum type",
    ),
    (
        "KDC_ERR_PADATA_TYPE_NOSUPP",
        "KDC has no support for padata type",
    ),
    (
        "KDC_ERR_TRTYPE_NOSUPP",
        "KDC has no support for transited type",
    ),
    (
        "KDC_ERR_CLIENT_REVOKED",
        "Client's credentials have been revoked",
    ),
    (
        "KDC_ERR_SERVICE_REVOKED",
        "Credentials for server have been revoked",
    ),
    ("KDC_ERR_TGT_REVOKED", "TGT has been revoked"),
    (
        "KDC_ERR_CLIENT_NOTYET",
        "Client not yet valid - try again later",
    ),
    (
        "KDC_ERR_SERVICE_NOTYET",
        "Server not yet valid - try again later",
    ),
    ("KDC_ERR_KEY_EXPIRED", "Password has expired"),
    ("KDC_ERR_PREAUTH_FAILED", "Preauthentication failed"),
    (
        "KDC_ERR_PREAUTH_REQUIRED",
        "Additional pre-authentication required",
    ),
    (
        "KDC_ERR_SERVER_NOMATCH",
        "Requested server and ticket don't match",
    ),
    (
        "KDC_ERR_MUST_USE_USER2USER",
        "Server principal valid for user2user only",
    ),
    (
        "KDC_ERR_PATH_NOT_ACCEPTED",
        "KDC policy rejects transited path",
    ),
    (
        "KDC_ERR_SVC_UNAVAILABLE",
        "A service is not available that is required to process the request",
    ),
    ("", "KRB5 error code 30"),
    ("KRB_AP_ERR_BAD_INTEGRITY", "Decrypt integrity check failed"),
    ("KRB_AP_ERR_TKT_EXPIRED", "Ticket expired"),
    ("KRB_AP_ERR_TKT_NYV", "Ticket not yet valid"),
    ("KRB_AP_ERR_REPEAT", "Request is a replay"),
    ("KRB_AP_ERR_NOT_US", "The ticket isn't for us"),
    ("KRB_AP_ERR_BADMATCH", "Ticket/authenticator don't match"),
    ("KRB_AP_ERR_SKEW", "Clock skew too great"),
    ("KRB_AP_ERR_BADADDR", "Incorrect net address"),
    ("KRB_AP_ERR_BADVERSION", "Protocol version mismatch"),
    ("KRB_AP_ERR_MSG_TYPE", "Invalid message type"),
    ("KRB_AP_ERR_MODIFIED", "Message stream modified"),
    ("KRB_AP_ERR_BADORDER", "Message out of order"),
    ("KRB_AP_ERR_ILL_CR_TKT", "Illegal cross-realm ticket"),
    ("KRB_AP_ERR_BADKEYVER", "Key version is not available"),
    ("KRB_AP_ERR_NOKEY", "Service key not available"),
    ("KRB_AP_ERR_MUT_FAIL", "Mutual authentication failed"),
    ("KRB_AP_ERR_BADDIRECTION", "Incorrect message direction"),
    (
        "KRB_AP_ERR_METHOD",
        "Alternative authentication method required",
    ),
    ("KRB_AP_ERR_BADSEQ", "Incorrect sequence number in message"),
    (
        "KRB_AP_ERR_INAPP_CKSUM",
        "Inappropriate type of checksum in message",
    ),
    ("KRB_AP_PATH_NOT_ACCEPTED", "Policy rejects transited path"),
    (
        "KRB_ERR_RESPONSE_TOO_BIG",
        "Response too big for UDP, retry with TCP",
    ),
    ("", "KRB5 error code 53"),
    ("", "KRB5 error code 54"),
    ("", "KRB5 error code 55"),
    ("", "KRB5 error code 56"),
    ("", "KRB5 error code 57"),
    ("", "KRB5 error code 58"),
    ("", "KRB5 error code 59"),
    ("KRB_ERR_GENERIC", "Generic error (see e-text)"),
    (
        "KRB_ERR_FIELD_TOOLONG",
        "Field is too long for this implementation",
    ),
    ("KDC_ERR_CLIENT_NOT_TRUSTED", "Client not trusted"),
    ("KDC_ERR_KDC_NOT_TRUSTED", "KDC not trusted"),
    ("KDC_ERR_INVALID_SIG", "Invalid signature"),
    ("KDC_ERR_KEY_TOO_WEAK", "Key parameters not accepted"),
    ("KDC_ERR_CERTIFICATE_MISMATCH", "Certificate mismatch"),
    ("KRB_AP_ERR_NO_TGT", "No ticket granting ticket"),
    ("KDC_ERR_WRONG_REALM", "Realm not local to KDC"),
    ("KRB_AP_ERR_USER_TO_USER_REQUIRED", "User to user required"),
    (
        "KDC_ERR_CANT_VERIFY_CERTIFICATE",
        "Can't verify certificate",
    ),
    ("KDC_ERR_INVALID_CERTIFICATE", "Invalid certificate"),
    ("KDC_ERR_REVOKED_CERTIFICATE", "Revoked certificate"),
    (
        "KDC_ERR_REVOCATION_STATUS_UNKNOWN",
        "Revocation status unknown",
    ),
    (
        "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE",
        "Revocation status unavailable",
    ),
    ("KDC_ERR_CLIENT_NAME_MISMATCH", "Client name mismatch"),
    ("KDC_ERR_KDC_NAME_MISMATCH", "KDC name mismatch"),
    (
        "KDC_ERR_INCONSISTENT_KEY_PURPOSE",
        "Inconsistent key purpose",
    ),
    (
        "KDC_ERR_DIGEST_IN_CERT_NOT_ACCEPTED",
        "Digest in certificate not accepted",
    ),
    (
        "KDC_ERR_PA_CHECKSUM_MUST_BE_INCLUDED",
        "Checksum must be included",
    ),
    (
        "KDC_ERR_DIGEST_IN_SIGNED_DATA_NOT_ACCEPTED",
        "Digest in signed-data not accepted",
    ),
    (
        "KDC_ERR_PUBLIC_KEY_ENCRYPTION_NOT_SUPPORTED",
        "Public key encryption not supported",
    ),
    ("", "KRB5 error code 82"),
    ("", "KRB5 error code 83"),
    ("", "KRB5 error code 84"),
    (
        "KRB_AP_ERR_IAKERB_KDC_NOT_FOUND",
        "The IAKERB proxy could not find a KDC",
    ),
    (
        "KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE",
        "The KDC did not respond to the IAKERB proxy",
    ),
    ("", "KRB5 error code 87"),
    ("", "KRB5 error code 88"),
    ("", "KRB5 error code 89"),
    ("KDC_ERR_PREAUTH_EXPIRED", "Preauthentication expired"),
    (
        "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED",
        "More preauthentication data is required",
    ),
    (
        "KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET",
        "KRB5 error code 92",
    ),
    (
        "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS",
        "An unsupported critical FAST option was requested",
    ),
    ("", "KRB5 error code 94"),
    ("", "KRB5 error code 95"),
    ("", "KRB5 error code 96"),
    ("", "KRB5 error code 97"),
    ("", "KRB5 error code 98"),
    ("", "KRB5 error code 99"),
    ("KDC_ERR_NO_ACCEPTABLE_KDF", "No acceptable KDF offered"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_follow_rfc_and_mit() {
        assert_eq!(error_name(0), ("KDC_ERR_NONE", "No error"));
        assert_eq!(
            error_name(18),
            (
                "KDC_ERR_CLIENT_REVOKED",
                "Client's credentials have been revoked"
            )
        );
        assert_eq!(
            error_name(23),
            ("KDC_ERR_KEY_EXPIRED", "Password has expired")
        );
        assert_eq!(
            error_name(24),
            ("KDC_ERR_PREAUTH_FAILED", "Preauthentication failed")
        );
        assert_eq!(error_name(37).0, "KRB_AP_ERR_SKEW");
        assert_eq!(
            error_name(52),
            (
                "KRB_ERR_RESPONSE_TOO_BIG",
                "Response too big for UDP, retry with TCP"
            )
        );
        assert_eq!(
            error_name(60),
            ("KRB_ERR_GENERIC", "Generic error (see e-text)")
        );
        assert_eq!(error_name(93).0, "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS");
        assert_eq!(error_name(100).0, "KDC_ERR_NO_ACCEPTABLE_KDF");
        assert_eq!(error_name(30), ("UNKNOWN_ERROR_CODE", "KRB5 error code 30"));
        assert_eq!(error_name(-1).0, "UNKNOWN_ERROR_CODE");
        assert_eq!(error_name(101).0, "UNKNOWN_ERROR_CODE");
        assert_eq!(error_name(i32::MAX).0, "UNKNOWN_ERROR_CODE");
        // Every placeholder text names its own code.
        for (code, (name, text)) in ERROR_TABLE.iter().enumerate() {
            if name.is_empty() {
                assert_eq!(*text, format!("KRB5 error code {code}"));
            } else {
                assert!(
                    name.starts_with("KDC_ERR_") || name.starts_with("KRB_"),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn names_of_etypes_padata_and_ntstatus() {
        assert_eq!(etype_name(20), "aes256-cts-hmac-sha384-192");
        assert_eq!(etype_name(-128), "unknown");
        assert_eq!(padata_name(149), "PA-REQ-ENC-PA-REP");
        assert_eq!(padata_name(9999), "PA-UNKNOWN");
        assert_eq!(ntstatus_name(0xC000_0072), Some("STATUS_ACCOUNT_DISABLED"));
        assert_eq!(ntstatus_name(0xDEAD_BEEF), None);
    }
}
