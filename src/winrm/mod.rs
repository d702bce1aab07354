//! WinRM as pywinrm speaks it: message framing ([`multipart`]), the WS-Management envelopes
//! ([`soap`]), and one authenticated, encrypted connection ([`session`]).

pub mod multipart;
pub mod session;
pub mod soap;
