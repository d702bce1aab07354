//! The password TGT through MIT's `krb5_init_creds_*` API, as `kinit` gets it, into a private
//! `MEMORY:` cache that GSSAPI then reads.
//!
//! `gss_acquire_cred_with_password` would get the same ticket, but when the KDC refuses it
//! says only MIT's minor code ("Client's credentials have been revoked"). Active Directory
//! says far more in the KRB-ERROR's e-data: an NTSTATUS telling a disabled account from an
//! expired or locked-out one, expired passwords from must-change ones, logon-hour and
//! workstation restrictions. `krb5_init_creds_get_error` hands back that KRB-ERROR, so this
//! module asks MIT the way kinit does and keeps it. On success it reports the ticket's
//! enctypes and flags too (what `klist -e -f` would show), without a second exchange.
//!
//! Raw FFI against the statically linked libkrb5: libgssapi wraps only GSSAPI. Every pointer
//! MIT hands out is freed here, on every path; the password goes to MIT as a C string that is
//! zeroed when the call returns.

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::ptr;

use zeroize::Zeroize;

use crate::secret::Secret;

type Ctx = *mut c_void;
type Principal = *mut c_void;
type Opt = *mut c_void;
type Ccache = *mut c_void;
type InitCtx = *mut c_void;

#[repr(C)]
struct Krb5Data {
    magic: i32,
    length: c_uint,
    data: *mut c_char,
}

#[repr(C)]
struct Krb5Error {
    magic: i32,
    ctime: i32,
    cusec: i32,
    susec: i32,
    stime: i32,
    error: u32,
    client: Principal,
    server: Principal,
    text: Krb5Data,
    e_data: Krb5Data,
}

#[repr(C)]
struct Keyblock {
    magic: i32,
    enctype: i32,
    length: c_uint,
    contents: *mut u8,
}

#[repr(C)]
struct Times {
    authtime: i32,
    starttime: i32,
    endtime: i32,
    renew_till: i32,
}

#[repr(C)]
struct Creds {
    magic: i32,
    client: Principal,
    server: Principal,
    keyblock: Keyblock,
    times: Times,
    is_skey: c_uint,
    ticket_flags: i32,
    addresses: *mut c_void,
    ticket: Krb5Data,
    second_ticket: Krb5Data,
    authdata: *mut c_void,
}

unsafe extern "C" {
    fn krb5_init_context(ctx: *mut Ctx) -> i32;
    fn krb5_free_context(ctx: Ctx);
    fn krb5_parse_name(ctx: Ctx, name: *const c_char, out: *mut Principal) -> i32;
    fn krb5_free_principal(ctx: Ctx, p: Principal);
    fn krb5_get_init_creds_opt_alloc(ctx: Ctx, out: *mut Opt) -> i32;
    fn krb5_get_init_creds_opt_free(ctx: Ctx, opt: Opt);
    fn krb5_get_init_creds_opt_set_out_ccache(ctx: Ctx, opt: Opt, cc: Ccache) -> i32;
    fn krb5_get_init_creds_opt_set_forwardable(opt: Opt, forwardable: c_int);
    fn krb5_cc_resolve(ctx: Ctx, name: *const c_char, out: *mut Ccache) -> i32;
    fn krb5_cc_destroy(ctx: Ctx, cc: Ccache) -> i32;
    fn krb5_cc_close(ctx: Ctx, cc: Ccache) -> i32;
    fn krb5_init_creds_init(
        ctx: Ctx,
        client: Principal,
        prompter: *const c_void,
        data: *mut c_void,
        start_time: i32,
        opt: Opt,
        out: *mut InitCtx,
    ) -> i32;
    fn krb5_init_creds_set_password(ctx: Ctx, icc: InitCtx, password: *const c_char) -> i32;
    fn krb5_init_creds_get(ctx: Ctx, icc: InitCtx) -> i32;
    fn krb5_init_creds_get_creds(ctx: Ctx, icc: InitCtx, creds: *mut Creds) -> i32;
    fn krb5_init_creds_get_error(ctx: Ctx, icc: InitCtx, out: *mut *mut Krb5Error) -> i32;
    fn krb5_init_creds_free(ctx: Ctx, icc: InitCtx);
    fn krb5_free_error(ctx: Ctx, e: *mut Krb5Error);
    fn krb5_free_cred_contents(ctx: Ctx, creds: *mut Creds);
    fn krb5_get_error_message(ctx: Ctx, code: i32) -> *const c_char;
    fn krb5_free_error_message(ctx: Ctx, msg: *const c_char);
}

/// The KRB-ERROR the KDC answered, as MIT decoded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KdcError {
    /// The protocol error code (e.g. 18, `KDC_ERR_CLIENT_REVOKED`).
    pub error_code: u32,
    /// Its `e-text`, when the KDC sent one.
    pub text: String,
    /// Its `e-data`, raw.
    pub e_data: Vec<u8>,
}

/// Why there is no TGT.
#[derive(Debug, Clone)]
pub struct InitFailure {
    /// MIT's error code (com_err table krb5), e.g. `KDC_ERR_CLIENT_REVOKED` = -1765328366.
    pub code: i32,
    /// MIT's message for it, with the context MIT adds.
    pub message: String,
    /// Which call failed.
    pub call: &'static str,
    /// The KDC's KRB-ERROR, when the failure is one.
    pub kdc_error: Option<KdcError>,
}

/// The TGT MIT got, and what `klist -e -f` would say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitCreds {
    /// The cache it is in (`MEMORY:...`, private to this process).
    pub ccache: String,
    /// The session key's enctype number (18 = aes256-cts-hmac-sha1-96, 23 = rc4-hmac).
    pub session_enctype: i32,
    /// The ticket's DER (`Ticket`), from which its own enctype is read.
    pub ticket: Vec<u8>,
    /// The ticket flags (RFC 4120 bit order: bit 1 forwardable is `0x40000000`).
    pub flags: u32,
    /// End time, seconds since the epoch.
    pub endtime: i64,
}

/// Owns a krb5 context and the objects made in it; frees them in reverse on drop.
struct Session {
    ctx: Ctx,
    principal: Principal,
    opt: Opt,
    ccache: Ccache,
    icc: InitCtx,
    keep_ccache: bool,
}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: each pointer is null or was produced by the matching MIT constructor in
        // `tgt_with_password` on this context, and is freed exactly once here.
        unsafe {
            if !self.icc.is_null() {
                krb5_init_creds_free(self.ctx, self.icc);
            }
            if !self.ccache.is_null() {
                if self.keep_ccache {
                    krb5_cc_close(self.ctx, self.ccache);
                } else {
                    krb5_cc_destroy(self.ctx, self.ccache);
                }
            }
            if !self.opt.is_null() {
                krb5_get_init_creds_opt_free(self.ctx, self.opt);
            }
            if !self.principal.is_null() {
                krb5_free_principal(self.ctx, self.principal);
            }
            if !self.ctx.is_null() {
                krb5_free_context(self.ctx);
            }
        }
    }
}

impl Session {
    fn fail(&self, code: i32, call: &'static str) -> InitFailure {
        InitFailure {
            code,
            message: message(self.ctx, code),
            call,
            kdc_error: None,
        }
    }
}

/// MIT's message for CODE, with the extended text MIT set on the context (for example the
/// realm a KDC could not be found for).
fn message(ctx: Ctx, code: i32) -> String {
    if ctx.is_null() {
        return crate::gss::mit_error_message(code);
    }
    // SAFETY: krb5_get_error_message returns a string we own and free with the matching call.
    unsafe {
        let p = krb5_get_error_message(ctx, code);
        if p.is_null() {
            return crate::gss::mit_error_message(code);
        }
        let s = CStr::from_ptr(p).to_string_lossy().into_owned();
        krb5_free_error_message(ctx, p);
        s
    }
}

fn data_bytes(d: &Krb5Data) -> Vec<u8> {
    if d.data.is_null() || d.length == 0 {
        return Vec::new();
    }
    // SAFETY: MIT guarantees `data` points at `length` bytes for a filled krb5_data.
    unsafe { std::slice::from_raw_parts(d.data as *const u8, d.length as usize).to_vec() }
}

/// Gets a TGT for PRINCIPAL with the password, as `kinit PRINCIPAL` does (krb5.conf from
/// `KRB5_CONFIG` or the default), into the memory cache CCACHE (`MEMORY:name`), which stays
/// for the process to read. `forwardable`: ask for a forwardable TGT (kinit -f). Blocking:
/// MIT talks to the KDCs synchronously with its own timeouts.
pub fn tgt_with_password(
    principal: &str,
    secret: &Secret,
    ccache: &str,
    forwardable: bool,
) -> Result<InitCreds, InitFailure> {
    let local = |call: &'static str, message: String| InitFailure {
        code: 0,
        message,
        call,
        kdc_error: None,
    };
    let c_principal = CString::new(principal)
        .map_err(|_| local("krb5_parse_name", "NUL in the principal".into()))?;
    let c_ccache = CString::new(ccache)
        .map_err(|_| local("krb5_cc_resolve", "NUL in the cache name".into()))?;
    let mut s = Session {
        ctx: ptr::null_mut(),
        principal: ptr::null_mut(),
        opt: ptr::null_mut(),
        ccache: ptr::null_mut(),
        icc: ptr::null_mut(),
        keep_ccache: false,
    };
    // SAFETY: every out-pointer is a field of `s`, which frees what was made on any return.
    unsafe {
        let code = krb5_init_context(&mut s.ctx);
        if code != 0 {
            s.ctx = ptr::null_mut();
            return Err(s.fail(code, "krb5_init_context"));
        }
        let code = krb5_parse_name(s.ctx, c_principal.as_ptr(), &mut s.principal);
        if code != 0 {
            return Err(s.fail(code, "krb5_parse_name"));
        }
        let code = krb5_get_init_creds_opt_alloc(s.ctx, &mut s.opt);
        if code != 0 {
            return Err(s.fail(code, "krb5_get_init_creds_opt_alloc"));
        }
        if forwardable {
            krb5_get_init_creds_opt_set_forwardable(s.opt, 1);
        }
        let code = krb5_cc_resolve(s.ctx, c_ccache.as_ptr(), &mut s.ccache);
        if code != 0 {
            return Err(s.fail(code, "krb5_cc_resolve"));
        }
        let code = krb5_get_init_creds_opt_set_out_ccache(s.ctx, s.opt, s.ccache);
        if code != 0 {
            return Err(s.fail(code, "krb5_get_init_creds_opt_set_out_ccache"));
        }
        let code = krb5_init_creds_init(
            s.ctx,
            s.principal,
            ptr::null(),
            ptr::null_mut(),
            0,
            s.opt,
            &mut s.icc,
        );
        if code != 0 {
            return Err(s.fail(code, "krb5_init_creds_init"));
        }
        let mut pw = secret.expose().as_bytes().to_vec();
        pw.push(0);
        if pw[..pw.len() - 1].contains(&0) {
            pw.zeroize();
            return Err(local(
                "krb5_init_creds_set_password",
                "NUL in the password".into(),
            ));
        }
        // MIT copies the password into the init context (and zeroes its copy when freed).
        let code = krb5_init_creds_set_password(s.ctx, s.icc, pw.as_ptr() as *const c_char);
        pw.zeroize();
        if code != 0 {
            return Err(s.fail(code, "krb5_init_creds_set_password"));
        }
        let code = krb5_init_creds_get(s.ctx, s.icc);
        if code != 0 {
            let mut f = s.fail(code, "krb5_init_creds_get");
            let mut err: *mut Krb5Error = ptr::null_mut();
            if krb5_init_creds_get_error(s.ctx, s.icc, &mut err) == 0 && !err.is_null() {
                let e = &*err;
                f.kdc_error = Some(KdcError {
                    error_code: e.error,
                    text: String::from_utf8_lossy(&data_bytes(&e.text)).into_owned(),
                    e_data: data_bytes(&e.e_data),
                });
                krb5_free_error(s.ctx, err);
            }
            return Err(f);
        }
        let mut creds: Creds = std::mem::zeroed();
        let code = krb5_init_creds_get_creds(s.ctx, s.icc, &mut creds);
        if code != 0 {
            return Err(s.fail(code, "krb5_init_creds_get_creds"));
        }
        let out = InitCreds {
            ccache: ccache.to_owned(),
            session_enctype: creds.keyblock.enctype,
            ticket: data_bytes(&creds.ticket),
            flags: creds.ticket_flags as u32,
            endtime: i64::from(creds.times.endtime as u32),
        };
        krb5_free_cred_contents(s.ctx, &mut creds);
        s.keep_ccache = true;
        Ok(out)
    }
}

/// RFC 4120 ticket flag: forwardable.
pub const TKT_FLG_FORWARDABLE: u32 = 0x4000_0000;
/// RFC 4120 ticket flag: ok-as-delegate.
pub const TKT_FLG_OK_AS_DELEGATE: u32 = 0x0004_0000;

#[cfg(test)]
mod tests {
    use super::*;

    // The KDC paths (success, KRB-ERRORs with e-data) run against the lab's MIT KDC and Samba
    // AD DC: tests/lab_scenarios.rs. Unit tests cannot reach a KDC without network.

    #[test]
    fn a_nul_in_the_principal_is_refused_before_mit() {
        let secret = Secret::new("x".into());
        let err = tgt_with_password("a\0b@R", &secret, "MEMORY:x", false).unwrap_err();
        assert_eq!(err.call, "krb5_parse_name");
    }
}
