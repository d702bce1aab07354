//! WinRM as pywinrm speaks it: message framing ([`multipart`]), the WS-Management envelopes
//! ([`soap`]), what a listener answers before authentication ([`probe`]), and one
//! authenticated, encrypted connection ([`session`]); for the psrp connection, the PowerShell
//! remoting messages that open a runspace pool ([`psrp`]).

/// pywinrm's User-Agent, so that logs on the Windows side look like Ansible's traffic.
pub const USER_AGENT: &str = "Python WinRM client";

pub mod multipart;
pub mod probe;
pub mod psrp;
pub mod session;
pub mod soap;
