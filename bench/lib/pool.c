// SPDX-License-Identifier: GPL-2.0
/*
 * The hugetlb pool: grown (as root, unless --no-reserve) when a case needs
 * more free huge pages than it has, and put back at exit, on a fatal
 * signal, by pb_hugetlb_restore(), or, when the process dies of a signal it
 * cannot catch (SIGKILL), by its guardian: a small child started before
 * anything is touched (pb_pool_guard()) that shares the undo table and
 * restores it on its parent's death (PR_SET_PDEATHSIG).  The hugetlb
 * backings' reserve().
 */
#include "backing.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct pool_undo {
	char path[160];
	uint64_t orig;
};
/* in memory shared with the guardian once pb_pool_guard() ran */
struct pool_table {
	volatile sig_atomic_t n;
	struct pool_undo u[8];
};
static struct pool_table local_table, *table = &local_table;
#define nundo (table->n)
#define undo (table->u)
static pid_t guardian;

static void pool_path(char *buf, size_t len, size_t kb, int node,
		      const char *file)
{
	if (node >= 0)
		snprintf(buf, len,
			 "/sys/devices/system/node/node%d/hugepages/"
			 "hugepages-%zukB/%s",
			 node, kb, file);
	else
		snprintf(buf, len,
			 "/sys/kernel/mm/hugepages/hugepages-%zukB/%s", kb,
			 file);
}

void pb_hugetlb_restore(void)
{
	/* async-signal-safe: called from the fatal-signal handler too */
	while (nundo > 0) {
		struct pool_undo *u = &undo[nundo - 1];
		char buf[24];
		int n = 0, fd;
		uint64_t v = u->orig;

		do {
			buf[sizeof(buf) - 1 - n++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		fd = open(u->path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, buf + sizeof(buf) - n, (size_t)n) < 0) {
				/* nothing more a handler can do */
			}
			close(fd);
		}
		nundo--;
	}
}

static void on_fatal(int sig)
{
	pb_hugetlb_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void handlers(void)
{
	static bool done;
	int sigs[] = { SIGINT,	SIGTERM, SIGHUP, SIGQUIT,
		       SIGSEGV, SIGBUS,	 SIGABRT };

	if (done)
		return;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_fatal);
	atexit(pb_hugetlb_restore);
	done = true;
}

static void guardian_wake(int sig)
{
	(void)sig;
	pb_hugetlb_restore();
	_exit(0);
}

/* The guardian: holds nothing, ignores the terminal's and the group's
 * signals (its parent handles those), and restores the shared table when
 * the parent is gone: SIGUSR2 from PR_SET_PDEATHSIG. */
static void guard(pid_t parent)
{
	int ign[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1 };

	for (size_t i = 0; i < sizeof(ign) / sizeof(ign[0]); i++)
		signal(ign[i], SIG_IGN);
	signal(SIGUSR2, guardian_wake);
	prctl(PR_SET_PDEATHSIG, SIGUSR2);
	prctl(PR_SET_NAME, "pinlab-guard");
	for (int fd = 0; fd < 1024; fd++)
		if (fd != 2)
			close(fd);
	if (getppid() != parent)
		guardian_wake(0);
	for (;;)
		pause();
}

int pb_pool_guard(void)
{
	pid_t parent = getpid();
	struct pool_table *t;

	handlers();
	if (guardian)
		return 0;
	t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return -1;
	*t = *table;
	table = t;
	guardian = fork();
	if (guardian < 0) {
		guardian = 0;
		return -1;
	}
	if (guardian == 0)
		guard(parent);
	return 0;
}

int pb_hugetlb_ensure(size_t kb, int node, uint64_t need, bool may_grow,
		      char *why)
{
	char nr_path[160], free_path[160], resv_path[160];
	uint64_t nr, fr, resv = 0, avail;

	pool_path(nr_path, sizeof(nr_path), kb, node, "nr_hugepages");
	pool_path(free_path, sizeof(free_path), kb, node, "free_hugepages");
	pool_path(resv_path, sizeof(resv_path), kb, -1, "resv_hugepages");
	if (pb_read_u64(nr_path, &nr) || pb_read_u64(free_path, &fr))
		return pb_say(why, PB_SKIP,
			      "no %zukB hugetlb pool here (%s missing)", kb,
			      nr_path);
	pb_read_u64(resv_path, &resv);
	avail = fr > resv ? fr - resv : 0;
	if (avail >= need)
		return PB_OK;
	if (!may_grow || !pb_is_root())
		return pb_say(why, PB_SKIP,
			      "%" PRIu64 " free %zukB hugetlb pages, %" PRIu64
			      " needed (%s)",
			      avail, kb, need,
			      may_grow ? "growing the pool needs root"
				       : "--no-reserve");
	if (nundo >= (int)(sizeof(undo) / sizeof(undo[0])))
		return pb_say(why, PB_FAIL, "too many hugetlb pools touched");
	handlers(); /* before the pool changes: Ctrl-C puts it back */
	/* remember the first value only: a pool grown twice goes back once */
	bool known = false;
	for (int i = 0; i < nundo; i++)
		known |= !strcmp(undo[i].path, nr_path);
	if (!known) {
		snprintf(undo[nundo].path, sizeof(undo[0].path), "%s", nr_path);
		undo[nundo].orig = nr;
		nundo++;
	}
	fprintf(stderr,
		"pinbench: growing the %zukB hugetlb pool%s by %" PRIu64
		" pages (restored at exit)\n",
		kb, node >= 0 ? " of the node" : "", need - avail);
	pb_write_u64(nr_path, nr + (need - avail));
	pb_read_u64(free_path, &fr);
	avail = fr > resv ? fr - resv : 0;
	if (avail < need)
		return pb_say(why, PB_SKIP,
			      "could reserve only %" PRIu64 " of %" PRIu64
			      " %zukB hugetlb pages (memory fragmented?)",
			      avail, need, kb);
	return PB_OK;
}
