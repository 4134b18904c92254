//! The case: its page (the agent's workspace), the actions taken on it,
//! the properties panel that saves as it changes, its files and the page
//! that opens a new one.

pub(super) mod actions;
pub(super) mod confirm;
pub(super) mod files;
pub(super) mod new;
pub(super) mod page;
pub(super) mod properties;
pub(super) mod view;
