// SPDX-License-Identifier: GPL-2.0
/*
 * rnetns-ebpf - loader of the eBPF peer of rnetns (rnetns_count.bpf.c), for
 * the benchmarks only.
 *
 *   rnetns-ebpf up OBJ DIR NSNAME...
 *	In each named namespace (/run/netns/NSNAME, as made by "ip netns
 *	add"): load one instance of the BPF object OBJ, attach its program
 *	with ten netfilter bpf_links (IPv4 and IPv6 x the five hook points,
 *	priority INT_MIN + 1) and pin the links and the counter map under
 *	DIR/NSNAME/. DIR must be on a bpf filesystem; bpffs is mounted at
 *	/sys/fs/bpf first if it is not. All or nothing: on an error whatever
 *	was done is undone and the exit status is 1.
 *   rnetns-ebpf down DIR
 *	Detach and unpin every link and map under DIR, and remove DIR: the
 *	hooks are gone when it returns. Nothing to do if DIR does not exist.
 *   rnetns-ebpf read DIR NSNAME
 *	Print NSNAME's counters, summed over the CPUs, as the rows of
 *	/proc/net/rnetns: a "family hook packets bytes" header, then one
 *	"ipv4 input PACKETS BYTES" line per (family, hook point).
 *
 * The pinned links hold their namespace: it is not freed until "down".
 * With LIBBPF_DEBUG set in the environment, libbpf's debug messages (CO-RE
 * relocations, the verifier's log) go to stderr too.
 *
 * Debian bookworm's libbpf (1.1) and uapi headers (Linux 6.1) predate
 * netfilter programs (Linux 6.4): the program type, the attach type and
 * the link_create attributes are spelled out below.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* enum bpf_prog_type and enum bpf_attach_type values of Linux 6.4+ */
#define PROG_TYPE_NETFILTER	32	/* BPF_PROG_TYPE_NETFILTER */
#define ATTACH_NETFILTER	45	/* BPF_NETFILTER */

#define NFPROTO_IPV4		2
#define NFPROTO_IPV6		10
#define NF_INET_NUMHOOKS	5
#define NHOOKS			(2 * NF_INET_NUMHOOKS)
/*
 * As early as a bpf link may run: INT_MIN (NF_IP_PRI_FIRST), where rnetns
 * and the C twin hook, is refused for bpf links.
 */
#define PRIORITY		(INT_MIN + 1)

#define BPFFS			"/sys/fs/bpf"
#define MAP_PIN			"counters"
#define MAX_NS			64

/*
 * The start of union bpf_attr's link_create member, with its netfilter
 * arm (Linux 6.4+); the kernel takes a shorter attr as zero-extended.
 */
struct link_create_nf {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u32 pf;
	__u32 hooknum;
	__s32 priority;
	__u32 nf_flags;
};

static const char *const family_name[] = { "ipv4", "ipv6" };
static const char *const hook_name[NF_INET_NUMHOOKS] = {
	"prerouting", "input", "forward", "output", "postrouting",
};

struct totals {
	__u64 packets;
	__u64 bytes;
};

/*
 * What "up" made so far, undone in reverse order on an error: the paths of
 * directories and pins (DIR, then per namespace its directory, the map and
 * the links), and the links' fds.
 */
static char *made[1 + MAX_NS * (2 + NHOOKS)];
static int nmade;
static int link_fds[MAX_NS * NHOOKS];
static int nlinks;

static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("rnetns-ebpf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* Format a path into buf (PATH_MAX bytes); fails if it does not fit. */
static int path_of(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX)
		return fail("path too long: %s...", buf);
	return 0;
}

/*
 * Remember a pin or a directory before "up" makes it (no allocation can fail
 * once it exists), and forget it if making it failed.
 */
static int remember(const char *path)
{
	made[nmade] = strdup(path);
	if (!made[nmade])
		return fail("out of memory");
	nmade++;
	return 0;
}

static void forget(void)
{
	free(made[--nmade]);
}

static void undo(void)
{
	while (nmade > 0) {
		char *path = made[--nmade];

		/* A pin is a file, one of ours a directory: remove() takes both. */
		if (remove(path) && errno != ENOENT)
			fprintf(stderr, "rnetns-ebpf: cannot remove %s while undoing: %s\n",
				path, strerror(errno));
		free(path);
	}
	/* Unpinned, the links die with their last fd: the hooks go now. */
	while (nlinks > 0)
		close(link_fds[--nlinks]);
}

static int mkdir_here(const char *path)
{
	if (remember(path))
		return -1;
	if (mkdir(path, 0700)) {
		fail("cannot create %s: %s", path, strerror(errno));
		forget();
		return -1;
	}
	return 0;
}

static int pin(int fd, const char *path, const char *what)
{
	if (remember(path))
		return -1;
	if (bpf_obj_pin(fd, path)) {
		fail("cannot pin %s at %s: %s", what, path, strerror(errno));
		forget();
		return -1;
	}
	return 0;
}

/* Mount bpffs at /sys/fs/bpf if it is not; make DIR, which must be on bpffs. */
static int ensure_bpffs(const char *dir)
{
	struct statfs sfs;
	struct stat st;

	if (statfs(BPFFS, &sfs))
		return fail("cannot stat %s: %s", BPFFS, strerror(errno));
	if (sfs.f_type != BPF_FS_MAGIC &&
	    mount("bpf", BPFFS, "bpf", 0, "mode=0700"))
		return fail("cannot mount bpffs at %s: %s", BPFFS, strerror(errno));

	if (stat(dir, &st)) {
		if (errno != ENOENT)
			return fail("cannot stat %s: %s", dir, strerror(errno));
		if (mkdir_here(dir))
			return -1;
	}
	if (statfs(dir, &sfs))
		return fail("cannot stat %s: %s", dir, strerror(errno));
	if (sfs.f_type != BPF_FS_MAGIC)
		return fail("%s is not on a bpf filesystem (mount one at %s)", dir, BPFFS);
	return 0;
}

static int enter_netns(int fd, const char *what)
{
	if (setns(fd, CLONE_NEWNET))
		return fail("cannot enter the network namespace %s: %s", what, strerror(errno));
	return 0;
}

/* Attach the program at one (family, hook point) of the current netns. */
static int link_nf(int prog_fd, int pf, int hooknum)
{
	struct link_create_nf attr = {
		.prog_fd = prog_fd,
		.attach_type = ATTACH_NETFILTER,
		.pf = pf,
		.hooknum = hooknum,
		.priority = PRIORITY,
	};
	int fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));

	return fd < 0 ? -errno : fd;
}

/* Load and attach one instance of OBJ in the current netns, pinned in DIR. */
static int up_one(const char *obj_path, const char *dir, const char *ns)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	char path[PATH_MAX];
	int err, i;

	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj)
		return fail("cannot open BPF object %s: %s", obj_path, strerror(errno));
	prog = bpf_object__next_program(obj, NULL);
	map = bpf_object__find_map_by_name(obj, MAP_PIN);
	if (!prog || !map) {
		bpf_object__close(obj);
		return fail("%s has no program or no '%s' map", obj_path, MAP_PIN);
	}
	/* libbpf 1.1 does not know SEC("netfilter"): set what it implies. */
	bpf_program__set_type(prog, PROG_TYPE_NETFILTER);
	bpf_program__set_expected_attach_type(prog, ATTACH_NETFILTER);
	err = bpf_object__load(obj);
	if (err) {
		bpf_object__close(obj);
		return fail("cannot load %s in namespace %s: %s (libbpf's messages above)",
			    obj_path, ns, strerror(-err));
	}

	err = path_of(path, "%s/%s", dir, ns) ?: mkdir_here(path) ?:
	      path_of(path, "%s/%s/%s", dir, ns, MAP_PIN) ?:
	      pin(bpf_map__fd(map), path, "the map");
	for (i = 0; !err && i < NHOOKS; i++) {
		int pf = i < NF_INET_NUMHOOKS ? NFPROTO_IPV4 : NFPROTO_IPV6;
		int hook = i % NF_INET_NUMHOOKS;
		int fd = link_nf(bpf_program__fd(prog), pf, hook);

		if (fd < 0) {
			err = fail("cannot attach at %s %s in namespace %s (BPF_LINK_CREATE): %s",
				   family_name[i / NF_INET_NUMHOOKS], hook_name[hook],
				   ns, strerror(-fd));
			break;
		}
		link_fds[nlinks++] = fd;
		err = path_of(path, "%s/%s/%s_%s", dir, ns,
			      family_name[i / NF_INET_NUMHOOKS], hook_name[hook]) ?:
		      pin(fd, path, "a link");
	}
	/* The links and the pinned map hold what they need of the object. */
	bpf_object__close(obj);
	return err;
}

static int cmd_up(const char *obj, const char *dir, char **names, int n)
{
	char path[PATH_MAX];
	int self, fd, i, err;

	if (n > MAX_NS)
		return fail("too many namespaces (at most %d)", MAX_NS);
	for (i = 0; i < n; i++)
		if (!names[i][0] || strchr(names[i], '/') || names[i][0] == '.')
			return fail("'%s' is not a namespace name", names[i]);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return fail("cannot open /proc/self/ns/net: %s", strerror(errno));
	err = ensure_bpffs(dir);
	for (i = 0; !err && i < n; i++) {
		err = path_of(path, "%s/%s", dir, names[i]);
		if (err)
			break;
		if (!access(path, F_OK)) {
			err = fail("%s exists: namespace %s is already up", path, names[i]);
			break;
		}
		err = path_of(path, "/run/netns/%s", names[i]);
		if (err)
			break;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = fail("no network namespace %s: cannot open %s: %s",
				   names[i], path, strerror(errno));
			break;
		}
		err = enter_netns(fd, path);
		close(fd);
		if (!err)
			err = up_one(obj, dir, names[i]);
		if (enter_netns(self, "of rnetns-ebpf"))
			err = -1;
	}
	close(self);
	if (err) {
		undo();
		return -1;
	}
	while (nlinks > 0)
		close(link_fds[--nlinks]);
	while (nmade > 0)
		free(made[--nmade]);
	return 0;
}

/* Detach and unpin everything in one namespace's directory, remove it. */
static int down_one(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return fail("cannot open %s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		int fd;

		if (e->d_name[0] == '.')
			continue;
		if (path_of(path, "%s/%s", dir, e->d_name)) {
			err = -1;
			continue;
		}
		/*
		 * Unpinned alone, a link is released from a work queue, a bit
		 * later; detached, its hook is unregistered before we go on.
		 */
		if (strcmp(e->d_name, MAP_PIN)) {
			fd = bpf_obj_get(path);
			if (fd < 0 || bpf_link_detach(fd))
				err = fail("cannot detach the link pinned at %s: %s",
					   path, strerror(errno));
			if (fd >= 0)
				close(fd);
		}
		if (unlink(path))
			err = fail("cannot unpin %s: %s", path, strerror(errno));
	}
	closedir(d);
	if (rmdir(dir))
		err = fail("cannot remove %s: %s", dir, strerror(errno));
	return err;
}

static int cmd_down(const char *dir)
{
	char path[PATH_MAX];
	struct statfs sfs;
	struct dirent *e;
	DIR *d;
	int err = 0;

	if (statfs(dir, &sfs)) {
		if (errno == ENOENT)
			return 0;
		return fail("cannot stat %s: %s", dir, strerror(errno));
	}
	/* Never unlink anything outside bpffs. */
	if (sfs.f_type != BPF_FS_MAGIC)
		return fail("%s is not on a bpf filesystem", dir);
	d = opendir(dir);
	if (!d)
		return fail("cannot open %s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (path_of(path, "%s/%s", dir, e->d_name) || down_one(path))
			err = -1;
	}
	closedir(d);
	if (rmdir(dir))
		err = fail("cannot remove %s: %s", dir, strerror(errno));
	return err;
}

static int cmd_read(const char *dir, const char *ns)
{
	char path[PATH_MAX];
	struct totals *per_cpu;
	int ncpus, fd, i, cpu;

	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0)
		return fail("cannot count the possible CPUs: %s", strerror(-ncpus));
	if (path_of(path, "%s/%s/%s", dir, ns, MAP_PIN))
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return fail("cannot open the map pinned at %s: %s", path, strerror(errno));
	per_cpu = calloc(ncpus, sizeof(*per_cpu));
	if (!per_cpu) {
		close(fd);
		return fail("out of memory");
	}
	printf("family hook packets bytes\n");
	for (i = 0; i < NHOOKS; i++) {
		struct totals sum = { 0, 0 };
		__u32 key = i;

		if (bpf_map_lookup_elem(fd, &key, per_cpu)) {
			fail("cannot read entry %d of %s: %s", i, path, strerror(errno));
			break;
		}
		for (cpu = 0; cpu < ncpus; cpu++) {
			sum.packets += per_cpu[cpu].packets;
			sum.bytes += per_cpu[cpu].bytes;
		}
		printf("%s %s %llu %llu\n", family_name[i / NF_INET_NUMHOOKS],
		       hook_name[i % NF_INET_NUMHOOKS],
		       (unsigned long long)sum.packets, (unsigned long long)sum.bytes);
	}
	free(per_cpu);
	close(fd);
	return i == NHOOKS ? 0 : -1;
}

static int print_all(enum libbpf_print_level level __attribute__((unused)),
		     const char *fmt, va_list ap)
{
	return vfprintf(stderr, fmt, ap);
}

static int usage(void)
{
	fprintf(stderr, "usage: rnetns-ebpf up OBJ DIR NSNAME...\n"
			"       rnetns-ebpf down DIR\n"
			"       rnetns-ebpf read DIR NSNAME\n");
	return 2;
}

int main(int argc, char **argv)
{
	int err;

	if (getenv("LIBBPF_DEBUG"))
		libbpf_set_print(print_all);
	if (argc >= 5 && !strcmp(argv[1], "up"))
		err = cmd_up(argv[2], argv[3], argv + 4, argc - 4);
	else if (argc == 3 && !strcmp(argv[1], "down"))
		err = cmd_down(argv[2]);
	else if (argc == 4 && !strcmp(argv[1], "read"))
		err = cmd_read(argv[2], argv[3]);
	else
		return usage();
	return err ? 1 : 0;
}
