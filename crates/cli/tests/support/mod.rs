//! Helpers shared by the interop tests of the `seedbank` binary: finding real clients, running them with
//! bounded waits, deterministic fixtures, opentracker, network namespaces and the libtorrent driver.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

pub mod aria2;
pub mod external;
pub mod fixture;
pub mod libtorrent;
pub mod meta;
pub mod netns;
pub mod openapi;
pub mod process;
pub mod seedbank;
pub mod tracker;
pub mod webdriver;
