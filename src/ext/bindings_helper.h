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
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/netns/generic.h>

#include "helpers.h"

/*
 * The offset of ptr in struct net_generic, for the packet path's inline
 * net_generic(). bindgen's libclang evaluates this, not the compiler that
 * built the kernel (gcc, for Debian's): Net::publish_generic_layout()
 * checks it against rnetns_net_generic_ptr_offset() before any hook can
 * use it. The offset of gen in struct net, which depends on the layout of
 * everything before it, is only taken from C (rnetns_net_gen_offset()).
 */
const size_t RNETNS_CONST_NET_GENERIC_PTR = offsetof(struct net_generic, ptr);

/* Generic netlink constants that bindgen cannot evaluate (macros). */
const size_t RNETNS_CONST_GENLMSG_DEFAULT_SIZE = GENLMSG_DEFAULT_SIZE;
const size_t RNETNS_CONST_NLA_HDRLEN = NLA_HDRLEN;
const u8 RNETNS_CONST_GENL_MCAST_CAP_NET_ADMIN = GENL_MCAST_CAP_NET_ADMIN;
