// SPDX-License-Identifier: GPL-2.0

//! Safe abstractions over the kernel C APIs rnetns needs that the `kernel`
//! crate does not wrap (on 6.12 nor 7.2): network namespaces and their
//! `pernet_operations`, per-namespace netfilter hooks and proc files,
//! per-CPU counters and module parameters with string values. One file per
//! kernel subsystem; the differences between kernels live in [`compat`].
//!
//! This is the only part of the module that contains `unsafe` code. It is
//! shaped like the `kernel` crate: C objects are wrapped in
//! [`kernel::types::Opaque`], C callbacks are `extern "C"` trampolines over
//! traits, and registrations undo themselves in `Drop`. The rest of the module
//! uses these types without any `unsafe`.

pub(crate) mod bindings;
pub(crate) mod compat;
pub(crate) mod genetlink;
pub(crate) mod net;
pub(crate) mod netfilter;
pub(crate) mod param;
pub(crate) mod percpu;
pub(crate) mod pernet;
pub(crate) mod proc;
pub(crate) mod time;
pub(crate) mod trace;
