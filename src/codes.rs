//! The registry of finding codes: every code any check can emit, with its status, cause and fix.
//!
//! Codes are a public interface: playbooks and scripts match on them. Add codes freely; never
//! rename or remove one. `docs/checks.md` is generated from this table (see the
//! `docs_checks_md_is_current` test), so the documentation cannot drift from the code.

use crate::report::Status;

/// One registered code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// Check id that emits it.
    pub check: &'static str,
    /// The stable kebab-case code.
    pub code: &'static str,
    /// Status a finding with this code has.
    pub status: Status,
    /// What causes it (documentation).
    pub cause: &'static str,
    /// Default remediation hint; findings may replace it with a more specific one.
    pub hint: Option<&'static str>,
}

macro_rules! codes {
    ($( $name:ident = ($check:literal, $code:literal, $status:ident, $cause:literal, $hint:expr) ;)*) => {
        $(
            #[doc = $cause]
            pub const $name: Code = Code {
                check: $check,
                code: $code,
                status: Status::$status,
                cause: $cause,
                hint: $hint,
            };
        )*
        /// Every registered code, in documentation order.
        pub const ALL: &[Code] = &[$($name),*];
    };
}

codes! {
    // ---- ee-runtime ----
    EE_RUNTIME_OK = ("ee-runtime", "ee-runtime-ok", Pass,
        "The job's own machinery is in place: kinit on PATH, Ansible's Python imports pywinrm with a Kerberos backend, a writable temp dir, no proxy capturing WinRM, no krb5 variable that Ansible's kinit would drop.", None);
    EE_RUNTIME_NO_KINIT = ("ee-runtime", "ee-runtime-no-kinit", Fail,
        "kinit is not on PATH. Ansible's winrm connection runs kinit to get the TGT and fails with \"Kerberos auth failure when calling kinit cmd 'kinit': [Errno 2] No such file or directory\".",
        Some("Use an EE with the MIT client tools: add krb5-workstation [platform:rpm] to bindep.txt (ansible-builder) and rebuild, or set ansible_winrm_kinit_cmd to the kinit path."));
    EE_RUNTIME_NO_PYTHON = ("ee-runtime", "ee-runtime-no-python", Warn,
        "No Python interpreter was found to check what Ansible imports (python3 not on PATH, or --python does not run).",
        Some("Pass the job's interpreter with --python (ansible_playbook_python; /usr/bin/python3 in awx-ee)."));
    EE_RUNTIME_NO_WINRM = ("ee-runtime", "ee-runtime-no-winrm", Fail,
        "Ansible's Python cannot import winrm (pywinrm). The winrm connection fails with \"winrm or requests is not installed\".",
        Some("Add pywinrm[kerberos] to the EE's requirements.txt (ansible-builder) and rebuild the image."));
    EE_RUNTIME_NO_KERBEROS = ("ee-runtime", "ee-runtime-no-kerberos", Fail,
        "pywinrm is installed but has no Kerberos backend (pykerberos, or pyspnego with gssapi/krb5). Ansible fails with \"The installed version of WinRM does not support transport(s) ['kerberos']\" or asks to install pykerberos.",
        Some("Install pywinrm[kerberos] (it pulls pykerberos; building it needs krb5-devel and gcc in the builder stage), then rebuild the EE."));
    EE_RUNTIME_NO_PYPSRP = ("ee-runtime", "ee-runtime-no-pypsrp", Fail,
        "A target uses Ansible's psrp connection and the job's Python cannot import pypsrp. The psrp connection fails with \"pypsrp or depedencies are not installed\" (sic) before it connects.",
        Some("Add pypsrp[kerberos] to the EE's requirements.txt (ansible-builder; it pulls pyspnego with gssapi and krb5, which build against krb5-devel) and rebuild the image."));
    EE_RUNTIME_PSRP_NO_KERBEROS = ("ee-runtime", "ee-runtime-psrp-no-kerberos", Fail,
        "pypsrp is installed but pyspnego cannot do Kerberos: the Python gssapi package (or krb5) does not import. With ansible_psrp_auth=negotiate pyspnego then uses NTLM without a word (the job may even work, but not with Kerberos); with auth=kerberos it fails.",
        Some("Install pypsrp[kerberos] (or pyspnego[kerberos]: gssapi and krb5) in the EE; building gssapi needs krb5-devel and gcc in the builder stage. Check with: python3 -c 'import gssapi, krb5'."));
    EE_RUNTIME_NO_PEXPECT = ("ee-runtime", "ee-runtime-no-pexpect", Warn,
        "The installed ansible-core (2.18 or older) drives kinit through pexpect when it can import it, and pexpect is missing: Ansible falls back to a plain pipe, which is slower to report a wrong password and differs from what most guides assume.",
        Some("Add pexpect to the EE's requirements.txt, or upgrade ansible-core (2.19 and later no longer use pexpect)."));
    EE_RUNTIME_PROXY = ("ee-runtime", "ee-runtime-proxy", Warn,
        "A proxy variable is set in the pod and NO_PROXY does not cover the WinRM targets: pywinrm (requests) would send WinRM through the proxy, where Kerberos fails. winrm-http proves it per target.",
        Some("Add the Windows hosts' domain to NO_PROXY (e.g. NO_PROXY=.corp.example.com), or unset the proxy variables in the Container Group's pod spec."));
    EE_RUNTIME_KINIT_ENV = ("ee-runtime", "ee-runtime-kinit-env", Warn,
        "KRB5_CONFIG or KRB5_TRACE is set on the pod, but Ansible runs kinit with a stripped environment (PATH and KRB5CCNAME only, plus ansible_winrm_kinit_env_vars): its kinit reads /etc/krb5.conf and traces nothing, while pywinrm in the same job reads the variable. The two halves of the job then use different configurations.",
        Some("List the variables in ansible_winrm_kinit_env_vars (e.g. [KRB5_CONFIG, KRB5_TRACE]), or mount the file at /etc/krb5.conf instead of pointing KRB5_CONFIG elsewhere."));
    EE_RUNTIME_TMP_READONLY = ("ee-runtime", "ee-runtime-tmp-readonly", Fail,
        "No writable temp directory for the job's uid: Ansible creates its kinit credential cache with Python's tempfile (TMPDIR, TEMP, TMP, /tmp, /var/tmp), so kinit cannot run.",
        Some("Mount an emptyDir at /tmp in the Container Group's pod spec (a read-only root filesystem needs one), or set TMPDIR to a writable directory."));
    EE_RUNTIME_HOME_READONLY = ("ee-runtime", "ee-runtime-home-readonly", Warn,
        "HOME is not writable for the job's uid: Ansible keeps its local temp files in ~/.ansible/tmp and fails with \"Unable to create local directories\" unless ANSIBLE_LOCAL_TEMP points elsewhere.",
        Some("Give the pod a writable HOME (awx-ee uses /runner, an emptyDir) or set ANSIBLE_LOCAL_TEMP to a writable directory."));
    // ---- krb5-conf ----
    KRB5_CONF_OK = ("krb5-conf", "krb5-conf-ok", Pass,
        "krb5.conf exists, parses as MIT krb5 parses it, and names a KDC for the realm in use.", None);
    KRB5_CONF_MISSING = ("krb5-conf", "krb5-conf-missing", Warn,
        "krb5.conf does not exist in the pod. MIT then runs on its built-in defaults: no default realm, KDCs only from DNS SRV records, rdns on. That works only where the pod's DNS serves AD's _kerberos SRV records and every user names its realm; the checks below say whether it does.",
        Some("Mount krb5.conf into the execution environment: create a ConfigMap from your krb5.conf and mount it at /etc/krb5.conf with subPath: krb5.conf in the Container Group's pod spec (AWX: Instance Groups > Container Group > Customize pod specification), or pass --krb5-conf FILE."));
    KRB5_CONF_UNREADABLE = ("krb5-conf", "krb5-conf-unreadable", Fail,
        "krb5.conf exists but the probe (and so the job, running as the same uid) cannot read it.",
        Some("Make the file readable by the job's uid (the AWX EE runs as uid 1000): give the ConfigMap volume defaultMode: 0644 and check the path is a file, not a directory."));
    KRB5_CONF_SYNTAX = ("krb5-conf", "krb5-conf-syntax", Fail,
        "krb5.conf has a syntax error; MIT krb5 refuses the whole file, so every Kerberos call fails.",
        Some("Fix the line named above. MIT's format: [section] headers, name = value, name = { ... } blocks, comments start with # or ; at the beginning of a line."));
    KRB5_CONF_INCLUDE_MISSING = ("krb5-conf", "krb5-conf-include-missing", Fail,
        "An include or includedir directive names a file or directory that does not exist in the pod. MIT krb5 treats that as a fatal error (\"Included profile file could not be read\").",
        Some("Remove the include/includedir line (a host's /etc/krb5.conf often carries 'includedir /etc/krb5.conf.d/' or SSSD's '/var/lib/sss/pubconf/krb5.include.d/', which do not exist in a container), or mount the included files too."));
    KRB5_CONF_KDC_INVALID = ("krb5-conf", "krb5-conf-kdc-invalid", Fail,
        "A kdc value in [realms] is one MIT rejects (Heimdal's tcp/ prefix, a bare IPv6 address, a bad port). One rejected entry makes MIT's whole KDC list for the realm fail.",
        Some("Write kdc values as host, host:port or [IPv6]:port; MIT has no tcp/ or udp/ prefix (use udp_preference_limit = 1 to force TCP)."));
    KRB5_CONF_BAD_BOOLEAN = ("krb5-conf", "krb5-conf-bad-boolean", Fail,
        "A [libdefaults] setting that MIT parses strictly has a value that is not a boolean; krb5_init_context fails with \"Invalid boolean value\".",
        Some("Use true or false (MIT also accepts yes/no, on/off, 1/0)."));
    KRB5_CONF_SUSPICIOUS = ("krb5-conf", "krb5-conf-suspicious", Warn,
        "MIT accepts a line of the file without complaint, but it almost certainly does not do what was meant (a UTF-8 BOM hiding the first section, a # comment after a value, an indented first section header, a file includedir skips, ...).",
        Some("Read the warnings in the evidence: each names the file and line MIT reads differently from how it looks."));
    KRB5_CONF_NO_DEFAULT_REALM = ("krb5-conf", "krb5-conf-no-default-realm", Warn,
        "[libdefaults] has no default_realm. Works only while every user name carries its realm.",
        Some("Add 'default_realm = YOUR.REALM' (upper case) under [libdefaults]."));
    KRB5_CONF_REALM_MISSING = ("krb5-conf", "krb5-conf-realm-missing", Fail,
        "The realm in use has no [realms] entry with a kdc, and KDCs are not looked up in DNS: MIT fails with \"Cannot find KDC for realm\".",
        Some("Add the realm, spelled exactly as in the user name (upper case), to [realms] with 'kdc = <domain controller FQDN>', or set dns_lookup_kdc = true if your DNS has _kerberos SRV records."));
    KRB5_CONF_KDC_FROM_DNS = ("krb5-conf", "krb5-conf-kdc-from-dns", Warn,
        "The realm in use has no kdc in [realms]; MIT will look for _kerberos SRV records in DNS instead.",
        Some("This works when the pod's DNS serves the AD SRV records (checked by dns-kdc). To be independent of DNS, list the domain controllers with 'kdc =' under [realms]."));
    KRB5_CONF_DOMAIN_REALM_MISSING = ("krb5-conf", "krb5-conf-domain-realm-missing", Warn,
        "[domain_realm] does not map a target's DNS domain. MIT then relies on KDC referrals, which AD supports, but errors become harder to read.",
        Some("Map the targets' domain: under [domain_realm] add '.your.domain = YOUR.REALM' and 'your.domain = YOUR.REALM'."));
    KRB5_CONF_DOMAIN_REALM_OTHER = ("krb5-conf", "krb5-conf-domain-realm-other", Warn,
        "[domain_realm] maps a target to a different realm than the user's. The service ticket then needs a cross-realm trust.",
        Some("If the host is in the user's domain, fix the [domain_realm] entry; otherwise make sure the forest/domain trust exists and that both realms are in [realms]."));
    KRB5_CONF_ENCTYPES_NONE = ("krb5-conf", "krb5-conf-enctypes-none", Fail,
        "An enctype list in [libdefaults] (permitted_enctypes, default_tkt_enctypes or default_tgs_enctypes) allows none of the three types Active Directory issues (aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96, rc4-hmac): no TGT or service ticket can be issued (\"KDC has no support for encryption type\").",
        Some("Put aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 into the list (or remove it: MIT's default includes both). AD has no aes*-sha2 or camellia keys."));
    KRB5_CONF_ENCTYPES_RC4_ONLY = ("krb5-conf", "krb5-conf-enctypes-rc4-only", Warn,
        "An enctype list in [libdefaults] leaves rc4-hmac as the only type Active Directory issues. It works while the DCs issue RC4; domain controllers updated for CVE-2026-20833 (April 2026 on) issue AES only by default, and then every job fails with \"KDC has no support for encryption type\".",
        Some("Add aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 to the list (and make sure the user's and the hosts' accounts have AES keys: msDS-SupportedEncryptionTypes 0x18, then a password reset)."));
    KRB5_CONF_KEYRING_CCACHE = ("krb5-conf", "krb5-conf-keyring-ccache", Warn,
        "default_ccache_name uses KEYRING: (copied from a host's krb5.conf). Kernel keyrings are not usable in most containers; kinit there fails with \"Credentials cache keyring ... not found\".",
        Some("Remove default_ccache_name from the krb5.conf you mount into the EE, or set it to FILE:/tmp/krb5cc_%{uid}. Ansible's own kinit uses a private FILE cache, but manual kinit/klist in the pod uses this setting."));
    // ---- principal ----
    PRINCIPAL_OK = ("principal", "principal-ok", Pass,
        "The user principal is well formed and its realm is configured exactly as spelled.", None);
    PRINCIPAL_MISSING = ("principal", "principal-missing", Skip,
        "No user was given, so the checks that need a user are skipped.",
        Some("Give the user Ansible connects as: -u awx@YOUR.REALM (or KRBPROBE_USER)."));
    PRINCIPAL_SYNTAX = ("principal", "principal-syntax", Fail,
        "The user name is not a Kerberos principal (empty, DOMAIN\\user form, spaces, several @).",
        Some("Use the user principal form: user@YOUR.REALM with the realm in upper case, as ansible_user: awx@KUROKOBO.INTERNAL."));
    PRINCIPAL_NO_REALM = ("principal", "principal-no-realm", Fail,
        "The user has no @REALM and krb5.conf has no default_realm, so MIT cannot tell which realm to ask.",
        Some("Write the realm into the user name (ansible_user: user@YOUR.REALM) or set default_realm in krb5.conf."));
    PRINCIPAL_REALM_CASE = ("principal", "principal-realm-case", Fail,
        "The user's realm differs from the configured realm only in letter case. Kerberos realms are case-sensitive: MIT fails with \"Cannot find KDC for realm\" (AD realms are upper case).",
        Some("Write the realm in upper case exactly as configured."));
    PRINCIPAL_REALM_UNKNOWN = ("principal", "principal-realm-unknown", Fail,
        "The user's realm is not configured in krb5.conf and KDCs are not looked up in DNS.",
        Some("Add the realm to [realms] in krb5.conf, or correct the realm in the user name."));
    PRINCIPAL_REALM_VIA_DNS = ("principal", "principal-realm-via-dns", Warn,
        "The user's realm is not in [realms]; MIT will look for its KDCs with DNS SRV records.",
        Some("Add the realm to [realms] with its domain controllers to stop depending on DNS SRV records."));
    // ---- ansible-connection ----
    ANSIBLE_CONNECTION_OK = ("ansible-connection", "ansible-connection-ok", Pass,
        "Ansible's winrm connection will use Kerberos for this host, and the endpoint and SPN it builds from the inventory are what the names suggest.", None);
    ANSIBLE_CONNECTION_NOT_KERBEROS = ("ansible-connection", "ansible-connection-not-kerberos", Fail,
        "Ansible will not use Kerberos for this host: ansible_winrm_transport does not list kerberos, or it is unset and ansible_user is not a UPN (user@REALM), in which case Ansible picks basic auth. Windows then answers \"the specified credentials were rejected by the server\" or basic auth is refused.",
        Some("Write ansible_user as user@REALM (realm in upper case) and set ansible_winrm_transport: kerberos."));
    ANSIBLE_CONNECTION_TRANSPORT_ORDER = ("ansible-connection", "ansible-connection-transport-order", Warn,
        "ansible_winrm_transport lists another transport before kerberos; Ansible tries them in order and uses the first that connects.",
        Some("Put kerberos first in ansible_winrm_transport (or list it alone)."));
    ANSIBLE_CONNECTION_IP_HOST = ("ansible-connection", "ansible-connection-ip-host", Warn,
        "ansible_host is an IP address and no Kerberos hostname override is set: pywinrm builds the SPN from the IP (HTTP@10.0.0.5). AD holds SPNs for host names, so the service ticket fails unless reverse DNS and rdns = true happen to repair the name.",
        Some("Set ansible_winrm_kerberos_hostname_override to the host's FQDN, or use the FQDN as ansible_host."));
    ANSIBLE_CONNECTION_REALM_IGNORED = ("ansible-connection", "ansible-connection-realm-ignored", Warn,
        "ansible_winrm_realm is set, but pywinrm ignores it for Kerberos: the realm comes only from ansible_user (user@REALM), else from krb5.conf's default_realm.",
        Some("Put the realm into ansible_user (user@REALM) and drop ansible_winrm_realm."));
    ANSIBLE_CONNECTION_SCHEME_PORT = ("ansible-connection", "ansible-connection-scheme-port", Warn,
        "The scheme and port disagree with WinRM's defaults (https on 5985 or http on 5986); one of the two inventory variables is probably wrong. Ansible's default is 5986/https when ansible_port is unset.",
        Some("Set ansible_port: 5985 for HTTP (with Kerberos message encryption) or 5986 for HTTPS, and leave ansible_winrm_scheme unset so Ansible derives it."));
    ANSIBLE_CONNECTION_PSRP_UNENCRYPTED = ("ansible-connection", "ansible-connection-psrp-unencrypted", Warn,
        "ansible_psrp_message_encryption is never and the protocol is http: pypsrp sends the PowerShell traffic in clear SOAP, which WinRM refuses unless AllowUnencrypted is true on the host (and then anyone on the path reads it).",
        Some("Leave ansible_psrp_message_encryption at auto (Kerberos encrypts over http), or use https (port 5986)."));
    ANSIBLE_CONNECTION_KINIT_ARGS_NO_FORWARD = ("ansible-connection", "ansible-connection-kinit-args-no-forward", Fail,
        "ansible_winrm_kerberos_delegation is true but ansible_winrm_kinit_args is set without -f: the winrm connection adds -f only when kinit_args is unset, so its kinit gets a TGT that cannot be forwarded and nothing is delegated.",
        Some("Add -f to ansible_winrm_kinit_args (e.g. ansible_winrm_kinit_args: -f), or drop kinit_args."));
    // ---- dns-kdc ----
    DNS_KDC_OK = ("dns-kdc", "dns-kdc-ok", Pass,
        "Every KDC name of the realm resolves as the pod's resolver resolves it.", None);
    DNS_KDC_SKIPPED = ("dns-kdc", "dns-kdc-skipped", Skip,
        "No realm or no KDC is known, so there is nothing to resolve.", None);
    DNS_KDC_NXDOMAIN = ("dns-kdc", "dns-kdc-nxdomain", Fail,
        "A KDC name in krb5.conf does not exist in the pod's DNS (NXDOMAIN or no address). MIT reports \"Cannot resolve network address for KDC in realm\".",
        Some("Use the domain controller's FQDN as the pod's DNS knows it, or make the cluster DNS forward the AD domain to the domain controllers (CoreDNS: a forward block for your AD domain)."));
    DNS_KDC_SRV_MISSING = ("dns-kdc", "dns-kdc-srv-missing", Fail,
        "KDCs are looked up in DNS but there are no _kerberos._udp/_tcp SRV records for the realm.",
        Some("List the KDCs in krb5.conf under [realms] (kdc = dc.your.domain), or make the pod's DNS forward the AD zone so the SRV records resolve."));
    DNS_KDC_PARTIAL = ("dns-kdc", "dns-kdc-partial", Warn,
        "Some KDC names resolve and some do not; MIT skips the broken ones after a delay.",
        Some("Remove or fix the KDC names that do not resolve."));
    DNS_KDC_FAILED = ("dns-kdc", "dns-kdc-failed", Fail,
        "The DNS lookup of a KDC name failed (timeout, SERVFAIL, REFUSED) rather than answering.",
        Some("Check the pod's /etc/resolv.conf nameservers answer for the AD domain. musl-based tools fail when either the A or the AAAA answer is an error: the DNS server must answer both."));
    DNS_RESOLV_CONF = ("dns-kdc", "dns-resolv-conf", Fail,
        "/etc/resolv.conf is missing, unreadable or lists no nameserver, so no name can be resolved.",
        Some("Give the pod a working resolv.conf (dnsPolicy: ClusterFirst, or dnsConfig in the Container Group pod spec)."));
    // ---- dns-target ----
    DNS_TARGET_OK = ("dns-target", "dns-target-ok", Pass,
        "The target resolves, and reverse DNS does not change the name Kerberos will use.", None);
    DNS_TARGET_IP = ("dns-target", "dns-target-ip", Fail,
        "The target is an IP address. Kerberos needs the host's name for the service principal (HTTP/<fqdn>); with an IP, the ticket request fails or falls back to NTLM.",
        Some("Use the host's FQDN as ansible_host (or set ansible_winrm_kerberos_hostname_override to it)."));
    DNS_TARGET_NXDOMAIN = ("dns-target", "dns-target-nxdomain", Fail,
        "The target name does not resolve in the pod's DNS.",
        Some("Use the FQDN the pod's DNS knows, or make the cluster DNS forward the AD domain to the domain controllers."));
    DNS_TARGET_FAILED = ("dns-target", "dns-target-failed", Fail,
        "The DNS lookup of the target failed (timeout, SERVFAIL, REFUSED) rather than answering.",
        Some("Check the pod's nameservers answer for the target's domain; both A and AAAA queries must get an answer (musl)."));
    DNS_TARGET_SHORT_NAME = ("dns-target", "dns-target-short-name", Warn,
        "The target is a short name that resolves only through the resolv.conf search list. The SPN is built from the name as given unless MIT canonicalizes it.",
        Some("Use the FQDN in the inventory (ansible_host: host.your.domain)."));
    DNS_TARGET_PTR_MISMATCH = ("dns-target", "dns-target-ptr-mismatch", Fail,
        "rdns is not false and the target's address has a PTR record naming another host. MIT then asks for a ticket for HTTP/<that other host>, which usually does not exist.",
        Some("Set 'rdns = false' under [libdefaults] in krb5.conf (recommended), or fix the PTR record so it names the target."));
    DNS_TARGET_CNAME = ("dns-target", "dns-target-cname", Warn,
        "The target is a CNAME. With dns_canonicalize_hostname (true by default) MIT asks for a ticket for the CNAME's target, not the name given.",
        Some("Make sure HTTP/<canonical name> is registered (setspn -S), or use the canonical name as ansible_host."));
    // ---- kdc-reach ----
    KDC_REACH_OK = ("kdc-reach", "kdc-reach-ok", Pass,
        "A KDC answered a real AS-REQ for the realm over UDP and TCP, knows the user, and its clock agrees with ours.", None);
    KDC_REACH_SKIPPED = ("kdc-reach", "kdc-reach-skipped", Skip,
        "No KDC address is known (see dns-kdc), so none can be contacted.", None);
    KDC_UNREACHABLE = ("kdc-reach", "kdc-unreachable", Fail,
        "No KDC of the realm accepted a connection on its port (refused or unreachable): MIT reports \"Cannot contact any KDC for realm\".",
        Some("Check that the domain controllers listen on port 88 and that no firewall or NetworkPolicy blocks UDP and TCP 88 from the pod network to them."));
    KDC_TIMEOUT = ("kdc-reach", "kdc-timeout", Fail,
        "No KDC answered within the timeout: packets to port 88 are dropped on the way.",
        Some("A firewall or NetworkPolicy is silently dropping traffic to port 88. Allow UDP and TCP 88 from the pod network (egress) to every domain controller."));
    KDC_NOT_KERBEROS = ("kdc-reach", "kdc-not-kerberos", Fail,
        "Something answered on the KDC port, but not with Kerberos.",
        Some("The kdc entry points at a host that is not a domain controller (or a proxy answers on port 88). Point 'kdc =' at a domain controller."));
    KDC_WRONG_REALM = ("kdc-reach", "kdc-wrong-realm", Fail,
        "The KDC answered for another realm than the one asked (WRONG_REALM or a different realm in the reply).",
        Some("The kdc in [realms] belongs to another domain: list the domain controllers of the user's own domain."));
    KDC_USER_UNKNOWN = ("kdc-reach", "kdc-user-unknown", Fail,
        "The KDC does not know the user (KDC_ERR_C_PRINCIPAL_UNKNOWN): \"Client not found in Kerberos database\".",
        Some("Check the user name (sAMAccountName or UPN prefix) exists in AD in this domain, and the realm is the user's own domain."));
    KDC_USER_DISABLED = ("kdc-reach", "kdc-user-disabled", Fail,
        "The KDC refuses the user (KDC_ERR_CLIENT_REVOKED): the account is disabled, locked out, or outside its logon hours.",
        Some("Enable or unlock the account in Active Directory Users and Computers (Account tab) and check its logon hours and expiry."));
    KDC_PASSWORD_EXPIRED = ("kdc-reach", "kdc-password-expired", Fail,
        "The user's password has expired (KDC_ERR_KEY_EXPIRED); kinit cannot change it non-interactively.",
        Some("Reset the password in AD (or untick 'User must change password at next logon') and update the AWX credential."));
    KDC_ACCOUNT_DISABLED = ("kdc-reach", "kdc-account-disabled", Fail,
        "Active Directory says the account is disabled (KDC_ERR_CLIENT_REVOKED with NTSTATUS STATUS_ACCOUNT_DISABLED, 0xC0000072).",
        Some("Enable the account: Active Directory Users and Computers > the user > Account > untick 'Account is disabled' (or Enable-ADAccount)."));
    KDC_ACCOUNT_EXPIRED = ("kdc-reach", "kdc-account-expired", Fail,
        "Active Directory says the account has expired (KDC_ERR_CLIENT_REVOKED with NTSTATUS STATUS_ACCOUNT_EXPIRED, 0xC0000193): its 'Account expires' date is past.",
        Some("Extend or clear the expiry date: the user's Account tab > Account expires > Never (or Clear-ADAccountExpiration)."));
    KDC_ACCOUNT_LOCKED_OUT = ("kdc-reach", "kdc-account-locked-out", Fail,
        "Active Directory says the account is locked out (NTSTATUS STATUS_ACCOUNT_LOCKED_OUT, 0xC0000234): too many wrong passwords within the lockout policy's window.",
        Some("Unlock it (Unlock-ADAccount, or the Account tab's 'Unlock account'), then fix the wrong password where it comes from: every Ansible host in a play runs its own kinit, so one stale AWX credential counts one bad try per host and locks the account within one job."));
    KDC_LOGON_HOURS = ("kdc-reach", "kdc-logon-hours", Fail,
        "Active Directory refuses the account at this time of day (NTSTATUS STATUS_INVALID_LOGON_HOURS, 0xC000006F): its logon hours exclude now.",
        Some("Allow the hours the jobs run in: the user's Account tab > Logon Hours (times are the DC's time zone)."));
    KDC_WORKSTATION_RESTRICTED = ("kdc-reach", "kdc-workstation-restricted", Fail,
        "Active Directory refuses the account from this client (NTSTATUS STATUS_INVALID_WORKSTATION, 0xC0000070): its 'Log On To' list names other computers.",
        Some("Add the pods' source or allow all computers: the user's Account tab > Log On To > All computers (pods have no stable NetBIOS name to list)."));
    KDC_PASSWORD_MUST_CHANGE = ("kdc-reach", "kdc-password-must-change", Fail,
        "Active Directory says the password must be changed before first use (NTSTATUS STATUS_PASSWORD_MUST_CHANGE, 0xC0000224): 'User must change password at next logon' is set.",
        Some("Untick 'User must change password at next logon' (or set a new password and store it in the AWX credential); Ansible's kinit cannot change it."));
    KDC_AUTH_POLICY = ("kdc-reach", "kdc-auth-policy", Fail,
        "An Active Directory authentication policy or silo refuses the account (NTSTATUS STATUS_AUTHENTICATION_FIREWALL_FAILED, 0xC0000413).",
        Some("Allow this account in its authentication policy (Active Directory Administrative Center > Authentication), or run the jobs as an account outside the silo."));
    KDC_CLOCK_SKEW = ("kdc-reach", "kdc-clock-skew", Fail,
        "The KDC's clock and the pod's clock differ by more than 5 minutes, Kerberos' default tolerance: \"Clock skew too great\".",
        Some("Synchronise time: the Kubernetes nodes and the domain controllers must use the same NTP source (w32tm /query /status on the DC, chronyc tracking on the node)."));
    KDC_CLOCK_DRIFT = ("kdc-reach", "kdc-clock-drift", Warn,
        "The KDC's clock and the pod's clock differ by more than a minute (tolerance is 5).",
        Some("Check NTP on the Kubernetes nodes and the domain controllers before the drift reaches 5 minutes."));
    KDC_NO_PREAUTH = ("kdc-reach", "kdc-no-preauth", Warn,
        "The KDC issued a ticket without pre-authentication: the account has 'Do not require Kerberos preauthentication' set (AS-REP roastable).",
        Some("Untick 'Do not require Kerberos preauthentication' on the account in AD."));
    KDC_UDP_BLOCKED = ("kdc-reach", "kdc-udp-blocked", Warn,
        "The KDC answers over TCP but not UDP. MIT tries UDP first and waits before falling back, so kinit is slow.",
        Some("Allow UDP 88 to the domain controllers, or set 'udp_preference_limit = 1' under [libdefaults] to use TCP only."));
    KDC_TCP_BLOCKED = ("kdc-reach", "kdc-tcp-blocked", Warn,
        "The KDC answers over UDP but not TCP. AD tickets with large PACs exceed UDP's limit and need TCP.",
        Some("Allow TCP 88 to the domain controllers."));
    KDC_PARTIAL = ("kdc-reach", "kdc-partial", Warn,
        "At least one KDC answers but others do not; MIT spends a timeout on each dead one first.",
        Some("Remove dead domain controllers from 'kdc =' lines or fix their reachability."));
    KDC_ERROR = ("kdc-reach", "kdc-error", Fail,
        "The KDC answered with a Kerberos error this check does not expect; the error is in the evidence.",
        None);
    // ---- winrm-http ----
    WINRM_HTTP_OK = ("winrm-http", "winrm-http-ok", Pass,
        "The WinRM listener answers like Windows: 404 on /, 401 offering Negotiate or Kerberos on /wsman.", None);
    WINRM_HTTP_SKIPPED = ("winrm-http", "winrm-http-skipped", Skip,
        "The target has no address (see dns-target), so its WinRM port cannot be probed.", None);
    WINRM_PORT_CLOSED = ("winrm-http", "winrm-port-closed", Fail,
        "Nothing accepts connections on the WinRM port (connection refused).",
        Some("Enable the listener on the Windows host (winrm quickconfig, or Enable-PSRemoting) and allow the port in Windows Firewall (rule 'Windows Remote Management (HTTP-In)' for 5985, create one for 5986)."));
    WINRM_TIMEOUT = ("winrm-http", "winrm-timeout", Fail,
        "The WinRM port did not answer within the timeout: a firewall drops the packets, or the host is down.",
        Some("Allow TCP 5985/5986 from the pod network to the host (Windows Firewall profile, network firewalls, Kubernetes egress NetworkPolicy)."));
    WINRM_NOT_HTTP = ("winrm-http", "winrm-not-http", Fail,
        "Something answered on the WinRM port, but not with HTTP (or closed the connection).",
        Some("Check the port: 5985 is HTTP and 5986 is HTTPS (ansible_winrm_scheme must match, ansible_port too)."));
    WINRM_WSMAN_MISSING = ("winrm-http", "winrm-wsman-missing", Fail,
        "POST /wsman answered 404: an HTTP server is there, but no WinRM listener on this port and scheme.",
        Some("Create the listener for this scheme: winrm enumerate winrm/config/listener shows the existing ones; 'winrm quickconfig' (HTTP) or 'winrm quickconfig -transport:https' (HTTPS)."));
    WINRM_KERBEROS_DISABLED = ("winrm-http", "winrm-kerberos-disabled", Fail,
        "The WinRM service offers neither Negotiate nor Kerberos, only Basic (or NTLM): Kerberos authentication is disabled in winrm/config/service/auth.",
        Some("On the host: winrm set winrm/config/service/auth @{Kerberos=\"true\";Negotiate=\"true\"} (or via Group Policy: Windows Remote Management > WinRM Service)."));
    WINRM_NO_AUTH = ("winrm-http", "winrm-no-auth", Fail,
        "POST /wsman answered 401 without any WWW-Authenticate offer.",
        Some("Something in front of WinRM (proxy, load balancer) strips the authentication headers; connect to the host directly."));
    WINRM_UNEXPECTED_STATUS = ("winrm-http", "winrm-unexpected-status", Fail,
        "POST /wsman without credentials answered neither 401 nor 404; this is not a Windows WinRM listener as Ansible expects.",
        Some("Check that the port and scheme point at the WinRM service and that no proxy is in the way."));
    WINRM_ROOT_UNEXPECTED = ("winrm-http", "winrm-root-unexpected", Warn,
        "GET / did not answer 404 as HTTP.sys does for WinRM; another web server may share the port.",
        None);
    WINRM_PROXY = ("winrm-http", "winrm-proxy", Fail,
        "HTTP_PROXY/HTTPS_PROXY/ALL_PROXY is set in the job's environment and NO_PROXY does not exempt the target, so pywinrm (through requests) sends WinRM to the proxy. Kerberos over WinRM does not survive a forward proxy.",
        Some("Exempt the Windows hosts: add their domain to NO_PROXY and no_proxy (e.g. NO_PROXY=.your.domain) in the job environment (AWX: the Container Group pod spec env, or AWX_TASK_ENV), or unset the proxy variables for WinRM jobs."));
    WINRM_TLS_UNTRUSTED = ("winrm-http", "winrm-tls-untrusted", Fail,
        "The HTTPS listener's certificate is not signed by a trusted CA (self-signed or an internal CA the pod does not trust).",
        Some("Give Ansible the CA: ansible_winrm_ca_trust_path: /path/to/ca.pem (pass the same file to --ca-file), or, for a lab only, ansible_winrm_server_cert_validation: ignore."));
    WINRM_TLS_NAME_MISMATCH = ("winrm-http", "winrm-tls-name-mismatch", Fail,
        "The HTTPS listener's certificate does not name the target.",
        Some("Issue the listener's certificate for the host's FQDN (subjectAltName), or connect with the name on the certificate; ansible_winrm_server_cert_validation: ignore hides this, do not use it in production."));
    WINRM_TLS_EXPIRED = ("winrm-http", "winrm-tls-expired", Fail,
        "The HTTPS listener's certificate has expired or is not yet valid.",
        Some("Renew the certificate and rebind the listener: winrm set winrm/config/Listener?Address=*+Transport=HTTPS @{CertificateThumbprint=\"<new>\"}."));
    WINRM_TLS_IGNORED = ("winrm-http", "winrm-tls-ignored", Warn,
        "The HTTPS certificate does not validate (untrusted issuer, wrong name or expired), and --insecure told the probe to go on, as ansible_winrm_server_cert_validation: ignore tells Ansible. Works, but anyone on the path can impersonate the host.",
        Some("Trust the issuing CA (--ca-file / ansible_winrm_ca_trust_path) or fix the certificate, then validate again."));
    WINRM_TLS_HANDSHAKE = ("winrm-http", "winrm-tls-handshake", Fail,
        "The TLS handshake with the HTTPS listener failed (protocol or cipher mismatch, or the port is plain HTTP).",
        Some("Check the scheme matches the port (5985 http, 5986 https) and that the host allows TLS 1.2 or later."));
    // ---- kinit ----
    KINIT_OK = ("kinit", "kinit-ok", Pass,
        "A TGT for the user was obtained through GSSAPI (MIT krb5), as Ansible's kinit does.", None);
    KINIT_NO_CREDENTIALS = ("kinit", "kinit-no-credentials", Skip,
        "No password, keytab or ticket cache was given, so no TGT can be requested.",
        Some("Give the password through KRBPROBE_PASSWORD, --password-file FILE or --password-stdin (never on the command line), or --keytab FILE, or a ticket cache in KRB5CCNAME."));
    KINIT_SKIPPED = ("kinit", "kinit-skipped", Skip,
        "A prerequisite (user, realm, KDC reachability) failed; its finding says what.", None);
    KINIT_PASSWORD_WRONG = ("kinit", "kinit-password-wrong", Fail,
        "The KDC rejected the password (pre-authentication failed).",
        Some("Check the password stored in the AWX credential (and that the account is not about to lock out after repeated failures)."));
    KINIT_USER_UNKNOWN = ("kinit", "kinit-user-unknown", Fail,
        "The KDC does not know the user: \"Client not found in Kerberos database\".",
        Some("Check the user name and that the realm is the user's own AD domain, in upper case."));
    KINIT_USER_DISABLED = ("kinit", "kinit-user-disabled", Fail,
        "The account is disabled, locked out or expired (\"Client's credentials have been revoked\").",
        Some("Enable or unlock the account in AD and check its expiry and logon hours."));
    KINIT_PASSWORD_EXPIRED = ("kinit", "kinit-password-expired", Fail,
        "The password has expired; Ansible's non-interactive kinit cannot change it.",
        Some("Reset the password in AD and update the AWX credential."));
    KINIT_ACCOUNT_DISABLED = ("kinit", "kinit-account-disabled", Fail,
        "Active Directory says the account is disabled (\"Client's credentials have been revoked\", NTSTATUS STATUS_ACCOUNT_DISABLED, 0xC0000072).",
        Some("Enable the account: Active Directory Users and Computers > the user > Account > untick 'Account is disabled' (or Enable-ADAccount)."));
    KINIT_ACCOUNT_EXPIRED = ("kinit", "kinit-account-expired", Fail,
        "Active Directory says the account has expired (\"Client's credentials have been revoked\", NTSTATUS STATUS_ACCOUNT_EXPIRED, 0xC0000193).",
        Some("Extend or clear the expiry date: the user's Account tab > Account expires > Never (or Clear-ADAccountExpiration)."));
    KINIT_ACCOUNT_LOCKED_OUT = ("kinit", "kinit-account-locked-out", Fail,
        "Active Directory says the account is locked out (\"Client's credentials have been revoked\", NTSTATUS STATUS_ACCOUNT_LOCKED_OUT, 0xC0000234).",
        Some("Unlock it (Unlock-ADAccount), then fix the wrong password where it comes from: every Ansible host in a play runs its own kinit, so one stale AWX credential counts one bad try per host against the lockout threshold."));
    KINIT_LOGON_HOURS = ("kinit", "kinit-logon-hours", Fail,
        "Active Directory refuses the account at this time (NTSTATUS STATUS_INVALID_LOGON_HOURS, 0xC000006F): its logon hours exclude now.",
        Some("Allow the hours the jobs run in: the user's Account tab > Logon Hours."));
    KINIT_WORKSTATION_RESTRICTED = ("kinit", "kinit-workstation-restricted", Fail,
        "Active Directory refuses the account from this client (NTSTATUS STATUS_INVALID_WORKSTATION, 0xC0000070): its 'Log On To' list names other computers.",
        Some("Allow all computers for this account (Account tab > Log On To): pods have no stable name to list."));
    KINIT_PASSWORD_MUST_CHANGE = ("kinit", "kinit-password-must-change", Fail,
        "Active Directory says the password must be changed first (NTSTATUS STATUS_PASSWORD_MUST_CHANGE, 0xC0000224): 'User must change password at next logon' is set.",
        Some("Untick 'User must change password at next logon' or set a new password, and store it in the AWX credential."));
    KINIT_AUTH_POLICY = ("kinit", "kinit-auth-policy", Fail,
        "An Active Directory authentication policy or silo refuses the account (NTSTATUS STATUS_AUTHENTICATION_FIREWALL_FAILED, 0xC0000413).",
        Some("Allow this account in its authentication policy, or run the jobs as an account outside the silo."));
    KINIT_CLOCK_SKEW = ("kinit", "kinit-clock-skew", Fail,
        "The KDC rejected the request because the clocks differ by more than 5 minutes.",
        Some("Synchronise the clocks of the Kubernetes nodes and the domain controllers (same NTP source)."));
    KINIT_KDC_UNREACHABLE = ("kinit", "kinit-kdc-unreachable", Fail,
        "MIT could not contact any KDC for the realm.",
        Some("See kdc-reach: allow UDP and TCP 88 from the pod to the domain controllers and check the kdc entries."));
    KINIT_REALM_UNKNOWN = ("kinit", "kinit-realm-unknown", Fail,
        "MIT cannot find a KDC for the realm (\"Cannot find KDC for realm\"): the realm is not in krb5.conf as spelled.",
        Some("Spell the realm in upper case and add it to [realms] in krb5.conf."));
    KINIT_RC4 = ("kinit", "kinit-rc4", Warn,
        "The TGT was issued with RC4 (rc4-hmac, enctype 23): the user's account (or krbtgt) has no AES keys in use. Domain controllers updated for CVE-2026-20833 (April 2026 on) refuse RC4 by default, so this login stops working after the DC update.",
        Some("Enable AES for the account ('This account supports Kerberos AES 128/256 bit encryption', msDS-SupportedEncryptionTypes 0x18) and reset its password so AES keys are made; keep aes256-cts in krb5.conf's permitted_enctypes."));
    KINIT_NOT_FORWARDABLE = ("kinit", "kinit-not-forwardable", Fail,
        "A target delegates the credentials (ansible_winrm_kerberos_delegation or ansible_psrp_negotiate_delegate) and the KDC issued a TGT that is not forwardable, as for an account marked \"sensitive and cannot be delegated\" or in Protected Users, or with a KDC policy against forwarding. Authentication works; the second hop from the host (a file share, SQL, another WinRM) fails with access denied or an anonymous logon.",
        Some("In AD: clear \"Account is sensitive and cannot be delegated\" on the user and keep it out of Protected Users (a service account for delegation). Check with klist -f after kinit -f: the TGT's flags must include F."));
    KINIT_ETYPE = ("kinit", "kinit-etype", Fail,
        "The KDC and the client share no encryption type (\"KDC has no support for encryption type\").",
        Some("Enable AES for the account (AD: 'This account supports Kerberos AES 256 bit encryption', then reset the password) or align permitted_enctypes in krb5.conf."));
    KINIT_KEYTAB = ("kinit", "kinit-keytab", Fail,
        "The keytab cannot be used: missing, unreadable, or without a key for the user.",
        Some("Check the keytab path and contents (klist -k FILE) and that it holds the user's current key (kvno)."));
    KINIT_CCACHE = ("kinit", "kinit-ccache", Fail,
        "The ticket cache in KRB5CCNAME holds no usable TGT (missing, empty or expired).",
        Some("Run kinit again, or give a password or keytab instead of a cache."));
    KINIT_CCACHE_OTHER_USER = ("kinit", "kinit-ccache-other-user", Fail,
        "The ticket cache in KRB5CCNAME holds no TGT for --user, only for another principal. pywinrm asks for credentials of exactly ansible_user and fails: \"Can't find client principal ... in cache collection\".",
        Some("Run kinit as the user Ansible connects as (ansible_user), or let Ansible manage kinit (ansible_winrm_kinit_mode: managed) instead of a shared cache."));
    KINIT_ERROR = ("kinit", "kinit-error", Fail,
        "GSSAPI failed to get a TGT for a reason this check does not classify; MIT's messages are in the evidence.",
        None);
    // ---- spn-ticket ----
    SPN_TICKET_OK = ("spn-ticket", "spn-ticket-ok", Pass,
        "A service ticket for HTTP/<target> was obtained exactly as pywinrm asks for it.", None);
    SPN_TICKET_SKIPPED = ("spn-ticket", "spn-ticket-skipped", Skip,
        "No TGT (see kinit) or no usable target name (see dns-target).", None);
    SPN_UNKNOWN = ("spn-ticket", "spn-unknown", Fail,
        "The KDC has no service principal HTTP/<host> (\"Server not found in Kerberos database\").",
        Some("Register the SPN on the host's computer account: setspn -S HTTP/<fqdn> <HOST>$ (check with setspn -L <HOST>). Also check the name Ansible uses is the FQDN and that rdns = false."));
    SPN_CLOCK_SKEW = ("spn-ticket", "spn-clock-skew", Fail,
        "The KDC rejected the service ticket request because the clocks differ by more than 5 minutes.",
        Some("Synchronise the clocks of the Kubernetes nodes and the domain controllers."));
    SPN_RC4 = ("spn-ticket", "spn-rc4", Warn,
        "The service ticket is RC4 (rc4-hmac, enctype 23): the host's computer account has no AES keys, or msDS-SupportedEncryptionTypes allows only RC4. Domain controllers updated for CVE-2026-20833 (April 2026 on) issue AES only by default, and then this host stops working with \"KDC has no support for encryption type\".",
        Some("Give the computer account AES: set msDS-SupportedEncryptionTypes to 0x18 (AES128+AES256) or 0x1C, e.g. Set-ADComputer HOST -KerberosEncryptionType AES128,AES256, then reset the machine password (Reset-ComputerMachinePassword) so AES keys exist."));
    SPN_NOT_OK_AS_DELEGATE = ("spn-ticket", "spn-not-ok-as-delegate", Fail,
        "The target delegates the credentials, krb5.conf sets enforce_ok_as_delegate = true, and the service ticket is not ok-as-delegate: the host's computer account is not trusted for delegation, so MIT forwards nothing and the second hop fails.",
        Some("In AD, trust the computer for delegation (Active Directory Users and Computers, the computer's Delegation tab: Trust this computer for delegation; or Set-ADComputer <host> -TrustedForDelegation $true), or drop enforce_ok_as_delegate from krb5.conf. Then klist purge in the pod."));
    SPN_ETYPE = ("spn-ticket", "spn-etype", Fail,
        "The KDC cannot issue a ticket for the service in an encryption type the client accepts.",
        Some("Check msDS-SupportedEncryptionTypes on the computer account (enable AES: Set-ADComputer HOST -KerberosEncryptionType AES128,AES256, then Reset-ComputerMachinePassword) and permitted_enctypes in krb5.conf. An RC4-only host cannot be reached from a pod that permits AES only, as CentOS Stream 9 / RHEL 9 execution environments do by their system crypto policy (/etc/krb5.conf.d/crypto-policies; update-crypto-policies --set DEFAULT:AD-SUPPORT-LEGACY in the image re-enables RC4 until the host has AES keys)."));
    SPN_KDC_UNREACHABLE = ("spn-ticket", "spn-kdc-unreachable", Fail,
        "MIT could not contact a KDC for the service's realm.",
        Some("Check [domain_realm] maps the host to the right realm and that realm's KDCs are reachable."));
    SPN_REALM = ("spn-ticket", "spn-realm", Fail,
        "The host maps to a realm MIT cannot reach or that has no trust with the user's realm.",
        Some("Map the host's domain to the right realm under [domain_realm] and make sure that realm is in [realms]."));
    SPN_ERROR = ("spn-ticket", "spn-error", Fail,
        "GSSAPI failed to get the service ticket for a reason this check does not classify; MIT's messages are in the evidence.",
        None);
    SPN_PSRP_SERVICE_MISSING = ("spn-ticket", "spn-psrp-service-missing", Fail,
        "The psrp connection asks for WSMAN/<host> (ansible_psrp_negotiate_service's default up to ansible-core 2.20) and the KDC has no such SPN, while host/<host>, which every AD computer account has, works. WinRM registers WSMAN/ only on some hosts; ansible-core 2.21 changed the default to host for this reason.",
        Some("Set ansible_psrp_negotiate_service: host for these hosts (the default from ansible-core 2.21), or register the SPN on the computer account: setspn -S WSMAN/<fqdn> <COMPUTER>."));
    // ---- winrm-auth ----
    WINRM_AUTH_OK = ("winrm-auth", "winrm-auth-ok", Pass,
        "An authenticated, encrypted WinRM exchange worked as pywinrm does it: Kerberos token, mutual authentication, Identify, and a cmd shell created and deleted.", None);
    WINRM_AUTH_SKIPPED = ("winrm-auth", "winrm-auth-skipped", Skip,
        "No service ticket or no usable listener (see spn-ticket and winrm-http).", None);
    WINRM_AUTH_REJECTED = ("winrm-auth", "winrm-auth-rejected", Fail,
        "The host answered 401 to a valid Kerberos token: pywinrm reports \"the specified credentials were rejected by the server\". The user is not allowed to use WinRM on this host.",
        Some("Add the user (or an AD group it is in) to the host's local Administrators or Remote Management Users group, or grant it Read and Execute in 'winrm configSDDL default'. Then check with: winrm get winrm/config/service."));
    WINRM_AUTH_HOST_CLOCK_SKEW = ("winrm-auth", "winrm-auth-host-clock-skew", Fail,
        "The Windows host rejected the ticket because its clock differs from the KDC's and the pod's by more than 5 minutes (KRB_AP_ERR_SKEW). MIT clients hide a skew to the KDC (kdc_timesync), but not to the host.",
        Some("Fix the host's time: w32tm /resync on the host, and check it syncs from the domain hierarchy (w32tm /query /status)."));
    WINRM_AUTH_HOST_KEY = ("winrm-auth", "winrm-auth-host-key", Fail,
        "The Windows host could not decrypt the service ticket: the key it holds for HTTP/<host> is not the one the KDC used (stale computer password, duplicate SPN on another account, wrong keytab).",
        Some("Look for a duplicate SPN: setspn -X, and setspn -Q HTTP/<fqdn> must name only the host's own computer account. If it does, reset the computer account password (Reset-ComputerMachinePassword) and purge tickets (klist purge)."));
    WINRM_AUTH_MUTUAL = ("winrm-auth", "winrm-auth-mutual", Fail,
        "The host accepted the request but did not prove its identity (no or an invalid Kerberos token in WWW-Authenticate): mutual authentication fails, as it does in pywinrm.",
        Some("Something between the pod and the host answers instead of WinRM (a proxy or load balancer terminating HTTP), or the listener is not Windows' WinRM. Connect to the host directly."));
    WINRM_AUTH_ENCRYPTION = ("winrm-auth", "winrm-auth-encryption", Fail,
        "The host refused or garbled WinRM message encryption (multipart/encrypted over http).",
        Some("Over http WinRM must encrypt: keep ansible_winrm_message_encryption at auto (never AllowUnencrypted on the host). If a proxy is in the way it may rewrite the body; connect directly, or use https (port 5986)."));
    WINRM_AUTH_ACCESS_DENIED = ("winrm-auth", "winrm-auth-access-denied", Fail,
        "The host authenticated the user but refused to create a shell: WS-Man fault w:AccessDenied (code 5). pywinrm reports \"Access is denied ... Code 500\". The user has Read but not Execute on the WinRM plugin.",
        Some("Grant Execute: add the user to local Administrators, or give it Read and Execute in 'winrm configSDDL default' (or the shell plugin's SDDL). For non-admins: Remote Management Users plus the Execute right."));
    WINRM_AUTH_FAULT = ("winrm-auth", "winrm-auth-fault", Fail,
        "The host answered with a WS-Management fault; code and message are in the evidence.",
        None);
    WINRM_AUTH_TIMEOUT = ("winrm-auth", "winrm-auth-timeout", Fail,
        "The host answered the unauthenticated requests (winrm-http) but not an authenticated one within --timeout: the WinRM service hangs or is overloaded, or something on the path drops the large packets an authenticated request makes (a Kerberos token is several KB: an MTU black hole, or a device that inspects the traffic).",
        Some("Rerun with a longer --timeout to tell slow from stuck. On the host: Get-Service WinRM and the Microsoft-Windows-WinRM/Operational event log. On the path: check the path MTU from the pod (ping -M do -s 1472 <host>) and any proxy, load balancer or IPS between the pod and the host."));
    WINRM_AUTH_UNEXPECTED = ("winrm-auth", "winrm-auth-unexpected", Fail,
        "The authenticated exchange ended in an HTTP status or body this check does not expect; it is in the evidence.",
        None);
    WINRM_AUTH_NTLM_FALLBACK = ("winrm-auth", "winrm-auth-ntlm-fallback", Fail,
        "The psrp connection (ansible_psrp_auth=negotiate) cannot use Kerberos with this host: no service ticket, or the host's SPNEGO answer chose NTLM. pyspnego then falls back to NTLM without saying so: the job either authenticates with NTLM (Kerberos-only policies, delegation and the audit trail break) or fails with an NTLM error that hides the Kerberos cause.",
        Some("Fix the Kerberos cause first (spn-ticket names it). To make a Kerberos failure visible instead of a silent NTLM login, set ansible_psrp_auth: kerberos."));
    WINRM_AUTH_NOT_DELEGATED = ("winrm-auth", "winrm-auth-not-delegated", Fail,
        "Delegation (ansible_winrm_kerberos_delegation) was asked for and the host accepted the user, but `klist` in the remote shell lists no TGT: the ticket was not forwarded (not forwardable, not ok-as-delegate where the client enforces it, or the account may not be delegated). The job itself runs; its second hop (a file share, SQL Server, another WinRM host) goes without credentials and fails with access denied or as anonymous.",
        Some("The checks before this one name the cause: kinit-not-forwardable (kinit -f, the account's 'sensitive and cannot be delegated' flag, Protected Users), spn-not-ok-as-delegate (trust the computer for delegation, or constrained delegation for the second hop's service)."));
    WINRM_AUTH_ENDPOINT_DENIED = ("winrm-auth", "winrm-auth-endpoint-denied", Fail,
        "The host authenticated the user but refused to open a PowerShell runspace on the session configuration (endpoint): the user lacks Invoke (Execute) on that configuration's security descriptor. This is the psrp connection's \"Access is denied\"; the cmd shell's rights (winrm-auth-access-denied) are another setting.",
        Some("On the host: Get-PSSessionConfiguration <name> | Format-List Permission; grant the user or its group Invoke, e.g. Set-PSSessionConfiguration -Name Microsoft.PowerShell -ShowSecurityDescriptorUI, or add it to Remote Management Users (which the default endpoints allow)."));
    WINRM_AUTH_ENDPOINT_MISSING = ("winrm-auth", "winrm-auth-endpoint-missing", Fail,
        "The PowerShell session configuration the psrp connection opens (ansible_psrp_configuration_name, default Microsoft.PowerShell) is not registered on the host.",
        Some("List the endpoints on the host: Get-PSSessionConfiguration. Fix ansible_psrp_configuration_name, or register it (Register-PSSessionConfiguration; Enable-PSRemoting -Force restores the defaults)."));
    WINRM_AUTH_RUNSPACE_BROKEN = ("winrm-auth", "winrm-auth-runspace-broken", Fail,
        "The host created the PowerShell runspace pool but it did not open: it reported the state Broken (or Closed), with the error in the evidence.",
        Some("The host's error record names the cause (often a broken or restricted endpoint, a startup script, or a language mode); see Microsoft-Windows-PowerShell/Operational on the host."));
    // ---- explain: a diagnosis from a failed job's output ----
    EXPLAIN_AMBIGUOUS = ("explain", "explain-ambiguous", Fail,
        "The job's output has a message with more than one possible cause (e.g. \"Cannot contact any KDC\": no DNS record, a KDC that refuses port 88, or one whose packets are dropped); the candidates are in the evidence.",
        Some("Run the live check the hint names, from a pod of the same execution environment and Container Group: it tells the candidates apart."));
    EXPLAIN_UNRECOGNIZED = ("explain", "explain-unrecognized", Warn,
        "No Kerberos or WinRM failure message krbprobe knows is in the input.",
        Some("Paste the failed task's whole output (with -vvvv if you can) or a KRB5_TRACE log, or run the live diagnosis with the command in the evidence."));
    // ---- the probe itself ----
    PROBE_ERROR = ("probe", "probe-error", Fail,
        "The probe itself could not run this check (an internal error, not a finding about your environment).",
        Some("Please report this with the JSON output (--format json)."));
    PROBE_DEADLINE = ("probe", "probe-deadline", Fail,
        "The whole run has a deadline (--deadline, default 20 network timeouts, at least 30 s) and this check had not finished when it passed. Every network step has its own timeout, so this means many slow steps in a row: a KDC or host that answers just before each timeout.",
        Some("Look at the checks before it for slow answers; rerun with a longer --deadline or fewer targets to see the check finish."));
}

/// Looks a code up by its text.
pub fn lookup(code: &str) -> Option<&'static Code> {
    ALL.iter().find(|c| c.code == code)
}

/// Renders `docs/checks.md` from the registry.
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# Checks and codes\n\n\
         Generated from `src/codes.rs` by the `docs_checks_md_is_current` test \
         (`UPDATE_DOCS=1 cargo test docs_checks_md` rewrites it). Codes are stable: they are \
         never renamed or removed.\n",
    );
    let mut check = "";
    for c in ALL {
        if c.check != check {
            check = c.check;
            out.push_str(&format!("\n## `{check}`\n"));
        }
        out.push_str(&format!(
            "\n### `{}` ({})\n\n{}\n",
            c.code,
            c.status.label().to_lowercase(),
            c.cause
        ));
        if let Some(h) = c.hint {
            out.push_str(&format!("\nFix: {h}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let mut seen = HashSet::new();
        for c in ALL {
            assert!(seen.insert(c.code), "duplicate code {}", c.code);
            assert!(
                c.code
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'),
                "{} is not kebab-case",
                c.code
            );
            assert!(!c.cause.is_empty());
        }
    }

    #[test]
    fn failing_codes_carry_a_hint_or_evidence_promise() {
        for c in ALL.iter().filter(|c| c.status == Status::Fail) {
            assert!(
                c.hint.is_some() || c.cause.contains("evidence"),
                "{} fails without a hint",
                c.code
            );
        }
    }

    #[test]
    fn docs_checks_md_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/checks.md");
        let want = render_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &want).expect("write docs/checks.md");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/checks.md is stale: run UPDATE_DOCS=1 cargo test docs_checks_md"
        );
    }
}
