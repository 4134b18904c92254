//! Where cases come from besides email: Meta's webhooks (Instagram and
//! Facebook), phone calls and the chat widget. Wire formats and their
//! signatures, without I/O; the service layer stores what they carry.

pub mod meta;
pub mod phone;
