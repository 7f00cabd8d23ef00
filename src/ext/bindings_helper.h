/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers of the kernel APIs rnetns binds to (input of bindgen, see Kbuild).
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/moduleparam.h>
#include <linux/netfilter.h>
#include <linux/percpu.h>
#include <linux/skbuff.h>
#include <linux/proc_fs.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/uidgid.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "helpers.h"

/*
 * Offsets computed by the C compiler, for the packet path's inline
 * net_generic() (bindgen cannot lay out struct net on every kernel).
 */
const size_t RNETNS_CONST_NET_GEN = offsetof(struct net, gen);
const size_t RNETNS_CONST_NET_GENERIC_PTR = offsetof(struct net_generic, ptr);
