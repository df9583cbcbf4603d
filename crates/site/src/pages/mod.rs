//! One module per page; each public function renders a whole document.

mod browse;
mod economy;
mod errors;
mod home;
mod member;
mod nodes;
mod signin;
mod torrent;

pub use browse::browse;
pub use economy::economy;
pub use errors::{error, not_found};
pub use home::home;
pub use member::member;
pub use nodes::nodes;
pub use signin::{redeem, signin};
pub use torrent::torrent;

#[cfg(test)]
mod tests;
