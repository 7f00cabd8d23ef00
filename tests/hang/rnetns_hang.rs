// SPDX-License-Identifier: GPL-2.0

//! rnetns_hang: a test-only module whose init blocks on purpose.
//!
//! Its init sleeps uninterruptibly (D state) for the longest `fsleep` takes,
//! about 36 minutes, so `insmod` hangs: tests/hang-check.sh loads it in a
//! guest to see that the hung-task detector reports the task with a stack
//! naming [`rnetns_hang_block`] and that qemu/run turns the hang into a
//! report (the guest's blocked tasks dumped, the run failed). Never load it
//! anywhere else.

use kernel::prelude::*;
use kernel::time::{delay::fsleep, Delta};

module! {
    type: RnetnsHang,
    name: "rnetns_hang",
    description: "Test only: blocks in its init on purpose (tests/hang-check.sh)",
    license: "GPL",
}

/// The module; it never finishes loading in time to be of use.
struct RnetnsHang;

/// Sleeps uninterruptibly for `fsleep`'s longest time (`i32::MAX` µs). Not
/// inlined, so that the blocked task's stack names it.
#[inline(never)]
fn rnetns_hang_block() {
    pr_info!("blocking in init, uninterruptibly, on purpose\n");
    fsleep(Delta::from_micros(i32::MAX as i64));
    pr_info!("woke up\n");
}

impl kernel::Module for RnetnsHang {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        rnetns_hang_block();
        Ok(RnetnsHang)
    }
}
