//! GSSAPI over the statically linked MIT krb5: the TGT (password, keytab or existing cache)
//! and service tickets, asked for exactly as pywinrm asks (hostbased `HTTP@host`, krb5 mech,
//! mutual + sequence flags).
//!
//! This is the Kerberos I/O edge. Calls block (MIT talks to the KDC synchronously), so the
//! checks run them on tokio's blocking pool under a deadline. Failures keep MIT's major and
//! minor status codes, so hints are chosen by code rather than by matching message text.

use std::ffi::{CStr, CString, c_char, c_long};
use std::ptr;

use libgssapi::context::{ClientCtx, CtxFlags};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::name::Name;
use libgssapi::oid::{GSS_MECH_KRB5, GSS_NT_HOSTBASED_SERVICE};
use libgssapi_sys as sys;
use serde::Serialize;

use crate::secret::Secret;

/// MIT krb5 error codes (com_err table `krb5`, base -1765328384) the checks tell apart.
/// `tests::codes_match_mit_messages` checks each against the linked library's own text.
pub mod krb5_err {
    /// KDC_ERR_C_PRINCIPAL_UNKNOWN: "Client not found in Kerberos database".
    pub const C_PRINCIPAL_UNKNOWN: i32 = -1765328378;
    /// KDC_ERR_S_PRINCIPAL_UNKNOWN: "Server not found in Kerberos database".
    pub const S_PRINCIPAL_UNKNOWN: i32 = -1765328377;
    /// KDC_ERR_ETYPE_NOSUPP: "KDC has no support for encryption type".
    pub const ETYPE_NOSUPP: i32 = -1765328370;
    /// KDC_ERR_CLIENT_REVOKED: "Client's credentials have been revoked".
    pub const CLIENT_REVOKED: i32 = -1765328366;
    /// KDC_ERR_KEY_EXP: "Password has expired".
    pub const KEY_EXP: i32 = -1765328361;
    /// KDC_ERR_PREAUTH_FAILED: "Preauthentication failed".
    pub const PREAUTH_FAILED: i32 = -1765328360;
    /// KRB_AP_ERR_BAD_INTEGRITY: "Decrypt integrity check failed" (old-style wrong password).
    pub const BAD_INTEGRITY: i32 = -1765328353;
    /// KRB_AP_ERR_SKEW: "Clock skew too great".
    pub const SKEW: i32 = -1765328347;
    /// KDC_ERR_WRONG_REALM: "Reserved for future use" in MIT's table (68, WRONG_REALM).
    pub const WRONG_REALM: i32 = -1765328316;
    /// KRB5_CC_NOTFOUND: "Matching credential not found".
    pub const CC_NOTFOUND: i32 = -1765328243;
    /// KRB5_REALM_UNKNOWN: "Cannot find KDC for requested realm".
    pub const REALM_UNKNOWN: i32 = -1765328230;
    /// KRB5_KDC_UNREACH: "Cannot contact any KDC for requested realm".
    pub const KDC_UNREACH: i32 = -1765328228;
    /// KRB5_KT_NOTFOUND: "Key table entry not found".
    pub const KT_NOTFOUND: i32 = -1765328203;
    /// KRB5_FCC_NOFILE: "No credentials cache found".
    pub const FCC_NOFILE: i32 = -1765328189;
    /// KRB5_REALM_CANT_RESOLVE: "Cannot resolve network address for KDC in requested realm".
    pub const REALM_CANT_RESOLVE: i32 = -1765328164;
    /// KRB5_KT_BADNAME: "Key table name malformed".
    pub const KT_BADNAME: i32 = -1765328205;
    /// KRB5_PREAUTH_FAILED: "Generic preauthentication failure".
    pub const GENERIC_PREAUTH_FAILED: i32 = -1765328174;
}

/// A GSSAPI failure with MIT's own words.
#[derive(Debug, Clone, Serialize)]
pub struct GssFailure {
    /// GSS major status (routine error bits).
    pub major: u32,
    /// Mechanism (krb5) minor status, as MIT's signed error code.
    pub minor: i32,
    /// gss_display_status of the major code.
    pub major_text: String,
    /// gss_display_status of the minor code.
    pub minor_text: String,
    /// Which call failed.
    pub call: &'static str,
    /// The KDC's KRB-ERROR behind the failure, when MIT handed it back (password TGTs, see
    /// [`crate::krb5init`]): Active Directory's NTSTATUS is in its e-data.
    #[serde(skip)]
    pub kdc_error: Option<Box<crate::krb5init::KdcError>>,
}

impl GssFailure {
    /// A krb5_init_creds failure, in the shape of a GSSAPI one (the krb5 code as minor status,
    /// as gss_acquire_cred_with_password would have reported it).
    fn from_init(f: crate::krb5init::InitFailure) -> Self {
        GssFailure {
            major: sys::_GSS_S_FAILURE,
            minor: f.code,
            major_text: display_status(sys::_GSS_S_FAILURE, sys::GSS_C_GSS_CODE as i32),
            minor_text: f.message,
            call: f.call,
            kdc_error: f.kdc_error.map(Box::new),
        }
    }

    /// A libgssapi error with MIT's texts for both codes.
    pub fn from_error(e: &libgssapi::error::Error, call: &'static str) -> Self {
        GssFailure {
            major: e.major.bits(),
            minor: e.minor as i32,
            major_text: display_status(e.major.bits(), sys::GSS_C_GSS_CODE as i32),
            minor_text: display_status(e.minor, sys::GSS_C_MECH_CODE as i32),
            call,
            kdc_error: None,
        }
    }

    fn local(call: &'static str, text: String) -> Self {
        GssFailure {
            major: sys::_GSS_S_FAILURE,
            minor: 0,
            major_text: "Unspecified GSS failure".into(),
            minor_text: text,
            call,
            kdc_error: None,
        }
    }

    /// One line: the mechanism's message, with the GSS routine error unless it is only the
    /// generic "Unspecified GSS failure.  Minor code may provide more information".
    pub fn message(&self) -> String {
        if self.minor_text.is_empty() {
            self.major_text.clone()
        } else if self.major == sys::_GSS_S_FAILURE {
            self.minor_text.clone()
        } else {
            format!("{} ({})", self.minor_text, self.major_text)
        }
    }
}

/// All messages gss_display_status has for a code, joined.
fn display_status(code: u32, kind: i32) -> String {
    let mut parts = Vec::new();
    let mut ctx: sys::OM_uint32 = 0;
    loop {
        let mut minor: sys::OM_uint32 = 0;
        let mut buf = sys::gss_buffer_desc {
            length: 0,
            value: ptr::null_mut(),
        };
        // SAFETY: all pointers are valid for the call; the buffer is released below.
        let major = unsafe {
            sys::gss_display_status(&mut minor, code, kind, ptr::null_mut(), &mut ctx, &mut buf)
        };
        if major != sys::GSS_S_COMPLETE || buf.value.is_null() {
            break;
        }
        // SAFETY: MIT returned `length` bytes at `value`.
        let bytes = unsafe { std::slice::from_raw_parts(buf.value as *const u8, buf.length) };
        parts.push(String::from_utf8_lossy(bytes).into_owned());
        // SAFETY: releasing the buffer MIT allocated.
        unsafe { sys::gss_release_buffer(&mut minor, &mut buf) };
        if ctx == 0 {
            break;
        }
    }
    parts.join("; ")
}

unsafe extern "C" {
    /// com_err's message table lookup, part of the statically linked MIT libraries.
    fn error_message(code: c_long) -> *const c_char;
    fn krb5_init_context(ctx: *mut *mut std::ffi::c_void) -> i32;
    fn krb5_free_context(ctx: *mut std::ffi::c_void);
}

/// MIT registers its error tables with com_err while initialising the library (first
/// krb5_init_context); until then error_message() only says "Unknown code krb5 N".
fn ensure_error_tables() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let mut ctx = ptr::null_mut();
        // SAFETY: krb5_init_context writes a context we free at once; a failure (for example
        // an unreadable krb5.conf) still leaves the tables registered by the library init.
        unsafe {
            if krb5_init_context(&mut ctx) == 0 && !ctx.is_null() {
                krb5_free_context(ctx);
            }
        }
    });
}

/// MIT's text for a com_err code (any table: krb5, profile, k5crypto...).
pub fn mit_error_message(code: i32) -> String {
    ensure_error_tables();
    // SAFETY: error_message returns a pointer to a static or thread-local NUL-terminated string.
    unsafe {
        let p = error_message(code as c_long);
        if p.is_null() {
            return format!("error {code}");
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// How long a blocking GSSAPI call may take before the probe stops waiting for it (`timeout`
/// is the run's per-step network timeout). MIT walks each KDC with its own retry timers, so it
/// gets a few network timeouts.
pub fn call_deadline(timeout: std::time::Duration) -> std::time::Duration {
    (timeout * 4).max(std::time::Duration::from_secs(5))
}

/// How to get the TGT.
pub enum TgtSource<'a> {
    /// Password for `principal`.
    Password {
        /// user@REALM
        principal: &'a str,
        /// The password.
        secret: &'a Secret,
        /// Ask for a forwardable TGT (kinit -f), as a connection that delegates does.
        forwardable: bool,
    },
    /// Client keytab for `principal`.
    Keytab {
        /// user@REALM
        principal: &'a str,
        /// Keytab path.
        path: &'a str,
    },
    /// The cache named by KRB5CCNAME, holding a TGT for `principal` when one is named (as
    /// pywinrm asks for exactly `ansible_user`), else for whoever is in it.
    Cache {
        /// The cache name, e.g. `FILE:/tmp/krb5cc_1000`.
        ccache: &'a str,
        /// user@REALM to find in it.
        principal: Option<&'a str>,
    },
}

/// A TGT held in memory.
#[derive(Clone)]
pub struct Tgt {
    /// The GSSAPI credential.
    pub cred: Cred,
    /// Principal the TGT belongs to.
    pub principal: String,
    /// Remaining lifetime, seconds.
    pub lifetime_secs: u64,
    /// What the KDC issued, when the TGT came from the password (klist -e -f).
    pub enctypes: Option<TgtEnctypes>,
    /// The credential store `cred` came from (cache and keytab names, never a secret), so
    /// that the same TGT can be had for another mechanism (SPNEGO).
    pub store: Vec<(String, String)>,
}

/// The encryption types and flags of a TGT as issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TgtEnctypes {
    /// The session key's enctype number.
    pub session: i32,
    /// The ticket's own enctype (the krbtgt key's), when its DER could be read.
    pub ticket: Option<i32>,
    /// Forwardable (kinit -f; what delegation needs).
    pub forwardable: bool,
}

impl TgtEnctypes {
    fn of(c: &crate::krb5init::InitCreds) -> Self {
        TgtEnctypes {
            session: c.session_enctype,
            ticket: crate::kdcproto::ticket_enctype(&c.ticket),
            forwardable: c.flags & crate::krb5init::TKT_FLG_FORWARDABLE != 0,
        }
    }
}

impl Tgt {
    /// A copy of this TGT in a credential cache of its own (`MEMORY:krbprobe-t<n>`), for one
    /// target's service ticket. Sharing one cache makes every ticket request search (and MIT's
    /// memory cache copy) all the tickets fetched before it: quadratic at hundreds of targets.
    /// Local work only, no KDC traffic.
    pub fn for_target(&self, n: usize) -> Result<Tgt, GssFailure> {
        let ccache = format!("MEMORY:krbprobe-t{n}");
        self.cred
            .store_into(
                &ccache,
                true,
                false,
                CredUsage::Initiate,
                Some(GSS_MECH_KRB5),
            )
            .map_err(|e| GssFailure::from_error(&e, "gss_store_cred_into"))?;
        let cred = acquire_from(Some(&self.principal), &[("ccache", &ccache)])?;
        Ok(Tgt {
            cred,
            principal: self.principal.clone(),
            lifetime_secs: self.lifetime_secs,
            enctypes: self.enctypes,
            store: vec![("ccache".into(), ccache)],
        })
    }

    /// The same TGT as a SPNEGO credential, for a token as pyspnego's `negotiate` sends it.
    /// A krb5 credential cannot be handed to the SPNEGO mechanism (it would look for the
    /// default cache instead), so this acquires one from the same store. The static MIT build
    /// has no NTLM mechanism: SPNEGO can offer Kerberos only, and never falls back.
    pub fn spnego_cred(&self) -> Result<Cred, GssFailure> {
        let store: Vec<(&str, &str)> = self
            .store
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        acquire_from_mech(Some(&self.principal), &store, SPNEGO_MECH_OID)
    }
}

/// Gets a TGT. Blocking.
pub fn acquire_tgt(source: &TgtSource<'_>) -> Result<Tgt, GssFailure> {
    let mut enctypes = None;
    let store: Vec<(String, String)>;
    let cred = match source {
        TgtSource::Password {
            principal,
            secret,
            forwardable,
        } => {
            // As kinit does it (krb5_init_creds_*), so that a refusal keeps the KDC's
            // KRB-ERROR; into a memory cache of this run, never on disk. The cache is read by
            // name only: AD may hand back the principal in another case than asked for.
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let ccache = format!("MEMORY:krbprobe-init-{n}");
            let init = crate::krb5init::tgt_with_password(principal, secret, &ccache, *forwardable)
                .map_err(GssFailure::from_init)?;
            enctypes = Some(TgtEnctypes::of(&init));
            store = vec![("ccache".to_owned(), ccache.clone())];
            acquire_from(None, &[("ccache", &ccache)])?
        }
        TgtSource::Keytab { principal, path } => {
            store = vec![
                ("client_keytab".to_owned(), path.to_string()),
                ("ccache".to_owned(), "MEMORY:krbprobe-keytab".to_owned()),
            ];
            acquire_from(
                Some(principal),
                &[
                    ("client_keytab", path),
                    ("ccache", "MEMORY:krbprobe-keytab"),
                ],
            )?
        }
        TgtSource::Cache { ccache, principal } => {
            store = vec![("ccache".to_owned(), ccache.to_string())];
            acquire_from(*principal, &[("ccache", ccache)])?
        }
    };
    // gss_inquire_cred resolves MIT's deferred acquisition (keytab, password), so errors from
    // the KDC surface here at the latest.
    let info = cred
        .info()
        .map_err(|e| GssFailure::from_error(&e, "gss_inquire_cred"))?;
    if info.lifetime.is_zero() {
        return Err(GssFailure {
            major: sys::_GSS_S_CREDENTIALS_EXPIRED,
            minor: 0,
            major_text: display_status(sys::_GSS_S_CREDENTIALS_EXPIRED, sys::GSS_C_GSS_CODE as i32),
            minor_text: "the TGT has expired".into(),
            call: "gss_inquire_cred",
            kdc_error: None,
        });
    }
    Ok(Tgt {
        principal: info.name.to_string(),
        lifetime_secs: info.lifetime.as_secs(),
        cred,
        enctypes,
        store,
    })
}

/// MIT's krb5 mechanism OID (1.2.840.113554.1.2.2), for the raw calls below.
const KRB5_MECH_OID: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02";
/// SPNEGO's OID (1.3.6.1.5.5.2).
const SPNEGO_MECH_OID: &[u8] = b"\x2b\x06\x01\x05\x05\x02";
/// GSS_KRB5_NT_PRINCIPAL_NAME (1.2.840.113554.1.2.2.1).
const KRB5_NT_PRINCIPAL_OID: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01";

fn raw_failure(major: u32, minor: u32, call: &'static str) -> GssFailure {
    GssFailure {
        major,
        minor: minor as i32,
        major_text: display_status(major, sys::GSS_C_GSS_CODE as i32),
        minor_text: display_status(minor, sys::GSS_C_MECH_CODE as i32),
        call,
        kdc_error: None,
    }
}

/// gss_acquire_cred_from with a credential store (MIT's `client_keytab`, `ccache` keys).
/// libgssapi does not wrap it, so this is the one place with raw GSSAPI calls.
fn acquire_from(principal: Option<&str>, store: &[(&str, &str)]) -> Result<Cred, GssFailure> {
    acquire_from_mech(principal, store, KRB5_MECH_OID)
}

/// [`acquire_from`] for the mechanism `mech_oid` (DER contents of the OID).
fn acquire_from_mech(
    principal: Option<&str>,
    store: &[(&str, &str)],
    mech_oid: &[u8],
) -> Result<Cred, GssFailure> {
    let owned: Vec<(CString, CString)> = store
        .iter()
        .map(|(k, v)| {
            Ok((
                CString::new(*k)
                    .map_err(|_| GssFailure::local("gss_acquire_cred_from", "NUL in key".into()))?,
                CString::new(*v).map_err(|_| {
                    GssFailure::local("gss_acquire_cred_from", format!("NUL in {k} value"))
                })?,
            ))
        })
        .collect::<Result<_, GssFailure>>()?;
    let mut elements: Vec<sys::gss_key_value_element_desc> = owned
        .iter()
        .map(|(k, v)| sys::gss_key_value_element_desc {
            key: k.as_ptr(),
            value: v.as_ptr(),
        })
        .collect();
    let set = sys::gss_key_value_set_desc {
        count: elements.len() as sys::OM_uint32,
        elements: elements.as_mut_ptr(),
    };
    let mut mech = sys::gss_OID_desc {
        length: mech_oid.len() as sys::OM_uint32,
        elements: mech_oid.as_ptr() as *mut _,
    };
    let mut mechs = sys::gss_OID_set_desc {
        count: 1,
        elements: &mut mech,
    };
    let mut minor: sys::OM_uint32 = 0;
    let mut name: sys::gss_name_t = ptr::null_mut();
    if let Some(p) = principal {
        let mut nt = sys::gss_OID_desc {
            length: KRB5_NT_PRINCIPAL_OID.len() as sys::OM_uint32,
            elements: KRB5_NT_PRINCIPAL_OID.as_ptr() as *mut _,
        };
        let mut buf = sys::gss_buffer_desc {
            length: p.len(),
            value: p.as_ptr() as *mut _,
        };
        // SAFETY: the buffer and OID outlive the call; MIT copies the name.
        let major = unsafe { sys::gss_import_name(&mut minor, &mut buf, &mut nt, &mut name) };
        if major != sys::GSS_S_COMPLETE {
            return Err(raw_failure(major, minor, "gss_import_name"));
        }
    }
    let mut cred: sys::gss_cred_id_t = ptr::null_mut();
    // SAFETY: every pointer outlives the call; `cred` is handed to `Cred::from_c` on success,
    // which takes sole ownership.
    let major = unsafe {
        sys::gss_acquire_cred_from(
            &mut minor,
            name,
            sys::_GSS_C_INDEFINITE,
            &mut mechs,
            sys::GSS_C_INITIATE as sys::gss_cred_usage_t,
            &set,
            &mut cred,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if !name.is_null() {
        let mut m2: sys::OM_uint32 = 0;
        // SAFETY: releasing the name imported above.
        unsafe { sys::gss_release_name(&mut m2, &mut name) };
    }
    if major != sys::GSS_S_COMPLETE {
        return Err(raw_failure(major, minor, "gss_acquire_cred_from"));
    }
    // SAFETY: MIT returned a fresh credential we now own.
    Ok(unsafe { Cred::from_c(cred) })
}

/// The principal whose TGT a cache holds, if it can be read.
pub fn cache_principal(ccache: &str) -> Option<String> {
    let cred = acquire_from(None, &[("ccache", ccache)]).ok()?;
    cred.info().ok().map(|i| i.name.to_string())
}

/// A service ticket obtained through gss_init_sec_context.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceTicket {
    /// The SPN in the ticket, as the server will see it (`HTTP/host@REALM`).
    pub spn: Option<String>,
    /// Encryption type number of the ticket.
    pub ticket_etype: Option<i32>,
    /// Size of the first context token (what goes into `Authorization: Kerberos ...`).
    pub token_bytes: usize,
}

/// The hostbased service name `service@host` (GSS_C_NT_HOSTBASED_SERVICE), as pywinrm and
/// pyspnego import it; MIT turns it into `service/host@REALM`.
pub fn hostbased_name(service: &str, host: &str) -> Result<Name, GssFailure> {
    Name::new(
        format!("{service}@{host}").as_bytes(),
        Some(GSS_NT_HOSTBASED_SERVICE),
    )
    .map_err(|e| GssFailure::from_error(&e, "gss_import_name"))
}

/// Starts a security context to `service@host` like pywinrm, which obtains the service
/// ticket. Blocking.
pub fn service_ticket(tgt: &Tgt, service: &str, host: &str) -> Result<ServiceTicket, GssFailure> {
    let mut ctx = ClientCtx::new(
        Some(tgt.cred.clone()),
        hostbased_name(service, host)?,
        CtxFlags::GSS_C_MUTUAL_FLAG | CtxFlags::GSS_C_SEQUENCE_FLAG,
        Some(GSS_MECH_KRB5),
    );
    let token = ctx
        .step(None, None)
        .map_err(|e| GssFailure::from_error(&e, "gss_init_sec_context"))?
        .ok_or_else(|| GssFailure::local("gss_init_sec_context", "no token produced".into()))?;
    let (spn, ticket_etype) = crate::kdcproto::ticket_in_gss_token(&token)
        .map(|(spn, etype)| (Some(spn), Some(etype)))
        .unwrap_or((None, None));
    Ok(ServiceTicket {
        spn,
        ticket_etype,
        token_bytes: token.len(),
    })
}

/// What MIT does with a delegating connection's credentials for one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Delegation {
    /// A context asked to delegate (GSS_C_DELEG_FLAG, as pywinrm and pyspnego ask) does:
    /// a forwarded TGT goes to the host.
    pub delegated: bool,
    /// The service ticket is ok-as-delegate (the host is trusted for delegation): MIT
    /// delegates under GSS_C_DELEG_POLICY_FLAG only then.
    pub ok_as_delegate: bool,
    /// The TGT's forwardable flag, when known (a TGT from the password).
    pub tgt_forwardable: Option<bool>,
}

/// Starts two contexts to `service@host` (the service ticket is cached by then): one asking
/// to delegate as the clients do, one asking to delegate only where policy allows, whose
/// answer is the ticket's ok-as-delegate flag. Blocking; may ask the KDC for a forwarded TGT.
pub fn delegation(tgt: &Tgt, service: &str, host: &str) -> Result<Delegation, GssFailure> {
    let try_flags = |extra: CtxFlags| -> Result<bool, GssFailure> {
        let mut ctx = ClientCtx::new(
            Some(tgt.cred.clone()),
            hostbased_name(service, host)?,
            // Without mutual authentication the context is complete after one step, so MIT
            // answers gss_inquire_context with the flags it settled on.
            CtxFlags::GSS_C_SEQUENCE_FLAG | extra,
            Some(GSS_MECH_KRB5),
        );
        ctx.step(None, None)
            .map_err(|e| GssFailure::from_error(&e, "gss_init_sec_context"))?;
        let info = libgssapi::context::SecurityContext::info(&ctx)
            .map_err(|e| GssFailure::from_error(&e, "gss_inquire_context"))?;
        Ok(info.flags.contains(CtxFlags::GSS_C_DELEG_FLAG))
    };
    Ok(Delegation {
        delegated: try_flags(CtxFlags::GSS_C_DELEG_FLAG)?,
        ok_as_delegate: try_flags(CtxFlags::GSS_C_DELEG_POLICY_FLAG)?,
        tgt_forwardable: tgt.enctypes.map(|e| e.forwardable),
    })
}

/// A failure as MIT would report `minor` from `call`, for the checks' decision tests.
#[cfg(test)]
pub(crate) fn fake_failure(minor: i32, call: &'static str) -> GssFailure {
    GssFailure {
        major: sys::_GSS_S_FAILURE,
        minor,
        major_text: "Unspecified GSS failure".into(),
        minor_text: mit_error_message(minor),
        call,
        kdc_error: None,
    }
}

#[cfg(test)]
mod tests {
    unsafe extern "C" {
        /// MIT's own answer to "may I use pthreads?" (libkrb5support, util/support/threads.c).
        fn krb5int_pthread_loaded() -> std::ffi::c_int;
    }

    /// krbprobe calls GSSAPI from several threads at once (one per target). MIT locks its
    /// shared state only when it believes pthreads are there; a static build that leaves
    /// that to weak references gets "no" and no locks at all (see scripts/build-krb5.sh).
    #[test]
    fn linked_mit_krb5_uses_its_locks() {
        // SAFETY: no arguments, no state beyond a cached flag; MIT calls it from any thread.
        assert_eq!(unsafe { krb5int_pthread_loaded() }, 1);
    }

    use super::*;

    #[test]
    fn codes_match_mit_messages() {
        use krb5_err::*;
        let table = [
            (C_PRINCIPAL_UNKNOWN, "Client not found in Kerberos database"),
            (S_PRINCIPAL_UNKNOWN, "Server not found in Kerberos database"),
            (ETYPE_NOSUPP, "KDC has no support for encryption type"),
            (CLIENT_REVOKED, "Client's credentials have been revoked"),
            (KEY_EXP, "Password has expired"),
            (PREAUTH_FAILED, "Preauthentication failed"),
            (BAD_INTEGRITY, "Decrypt integrity check failed"),
            (SKEW, "Clock skew too great"),
            (CC_NOTFOUND, "Matching credential not found"),
            (REALM_UNKNOWN, "Cannot find KDC for requested realm"),
            (KDC_UNREACH, "Cannot contact any KDC for requested realm"),
            (KT_NOTFOUND, "Key table entry not found"),
            (FCC_NOFILE, "No credentials cache found"),
            (
                REALM_CANT_RESOLVE,
                "Cannot resolve network address for KDC in requested realm",
            ),
            (KT_BADNAME, "Key table name malformed"),
            (GENERIC_PREAUTH_FAILED, "Generic preauthentication failure"),
        ];
        for (code, text) in table {
            assert_eq!(mit_error_message(code), text, "code {code}");
        }
    }

    #[test]
    fn gss_major_text_comes_from_mit() {
        let t = display_status(sys::_GSS_S_NO_CRED, sys::GSS_C_GSS_CODE as i32);
        assert!(t.contains("No credentials were supplied"), "{t}");
    }
}
