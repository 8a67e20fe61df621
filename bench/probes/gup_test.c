// SPDX-License-Identifier: GPL-2.0
/*
 * gup_test: the kernel's own GUP benchmark, /sys/kernel/debug/gup_test
 * (CONFIG_GUP_TEST).  The kernel times its pin loop and its release loop;
 * pinbench reports those as the iteration's manual time.
 *
 * On a stock kernel the three stock ioctls (GUP_FAST, PIN_FAST, PIN_LONGTERM)
 * are used; their times are in microseconds and a GUP error only shows as a
 * short size.  A pinlab lab kernel (kernel-patches/6.1/instrumentation) adds
 * PINLAB_GUP_BENCH: nanoseconds, the errno, and the remote paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "../lib/gup_test_abi.h"
#include "../lib/probe.h"

struct gt {
	int fd;
	bool ext; /* PINLAB_GUP_BENCH present */
};

static int gt_open_dev(char *why)
{
	struct statfs sf;
	int fd = open(GUP_TEST_PATH, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == EACCES || errno == EPERM)
		return -pb_say(why, PB_SKIP, "%s needs root", GUP_TEST_PATH);
	if (statfs("/sys/kernel/debug", &sf) || sf.f_type != DEBUGFS_MAGIC)
		return -pb_say(why, PB_SKIP,
			       "debugfs is not mounted at /sys/kernel/debug "
			       "(mount -t debugfs none /sys/kernel/debug)");
	return -pb_say(why, PB_SKIP,
		       "no %s: kernel built without CONFIG_GUP_TEST",
		       GUP_TEST_PATH);
}

static bool gt_has_ext(int fd)
{
	struct pinlab_gup_bench b = { .cmd = PINLAB_GUP_VERSION };

	return ioctl(fd, PINLAB_GUP_BENCH, &b) == 0 &&
	       b.pages_done >= PINLAB_GUP_ABI_VERSION;
}

/* stock ioctl of each command; 0: only the pinlab extension has it */
static unsigned long gt_stock(unsigned cmd)
{
	switch (cmd) {
	case PINLAB_GUP_FAST: return GUP_FAST_BENCHMARK;
	case PINLAB_PIN_FAST: return PIN_FAST_BENCHMARK;
	case PINLAB_PIN_LONGTERM: return PIN_LONGTERM_BENCHMARK;
	}
	return 0;
}

static int gt_available(unsigned cmd, char *why)
{
	int fd = gt_open_dev(why);
	bool ext;

	if (fd < 0)
		return -fd;
	ext = gt_has_ext(fd);
	close(fd);
	if (!ext && !gt_stock(cmd))
		return pb_say(why, PB_SKIP,
			      "kernel without pinlab's gup_test instrumentation"
			      " (PINLAB_GUP_BENCH): stock gup_test has no "
			      "remote benchmark");
	return PB_OK;
}

static int gt_open(struct pb_ctx *c, char *why)
{
	struct gt *g = calloc(1, sizeof(*g));
	int fd;

	if (!g)
		return pb_say(why, PB_FAIL, "out of memory");
	fd = gt_open_dev(why);
	if (fd < 0) {
		free(g);
		return -fd;
	}
	g->fd = fd;
	g->ext = gt_has_ext(fd);
	c->priv = g;
	return PB_OK;
}

static void gt_close(struct pb_ctx *c)
{
	struct gt *g = c->priv;

	close(g->fd);
	free(g);
	c->priv = NULL;
}

static int gt_iterate(struct pb_ctx *c, unsigned cmd, unsigned flags,
		      struct pb_sample *s, char *why)
{
	struct gt *g = c->priv;
	uint64_t ppc = pb_ppc_pages(c);
	unsigned gup_flags = (c->p.write ? PB_FOLL_WRITE : 0) | flags;

	if (ppc > UINT32_MAX)
		return pb_say(why, PB_SKIP,
			      "gup_test takes < 2^32 pages a call");
	if (g->ext) {
		struct pinlab_gup_bench b = {
			.cmd = cmd,
			.pid = c->t.pid,
			.addr = (uintptr_t)c->t.addr,
			.size = c->t.len,
			.nr_pages_per_call = (unsigned)ppc,
			.gup_flags = gup_flags,
		};
		if (ioctl(g->fd, PINLAB_GUP_BENCH, &b))
			return pb_say_errno(why, PB_FAIL, errno,
					    "PINLAB_GUP_BENCH");
		/* the loops ran (their clock read twice each): said even
		 * when the kernel refused, for --passes-out */
		s->get_ns = b.get_ns;
		s->put_ns = b.put_ns;
		s->pages = b.pages_done;
		s->calls = b.calls;
		s->err = -b.error;
		if (b.error)
			return pb_say(why, b.pages_done ? PB_FAIL : PB_REFUSED,
				      "kernel refused %s on %s after %llu of "
				      "%zu pages: %s",
				      c->pr->path, c->bk->name,
				      (unsigned long long)b.pages_done,
				      c->t.len / PB_PAGE, strerror(-b.error));
		/* the FOLL_GET paths' leak check (nr_foll_pin_* sees pins) */
		if (b.pages_released != b.pages_done)
			return pb_say(why, PB_FAIL,
				      "leak: the kernel released %llu of the "
				      "%llu pages %s got on %s",
				      (unsigned long long)b.pages_released,
				      (unsigned long long)b.pages_done,
				      c->pr->path, c->bk->name);
		return PB_OK;
	}
	struct gup_test t = {
		.addr = (uintptr_t)c->t.addr,
		.size = c->t.len,
		.nr_pages_per_call = (unsigned)ppc,
		/* PIN_LONGTERM adds FOLL_LONGTERM itself */
		.gup_flags = cmd == PINLAB_PIN_LONGTERM
				     ? gup_flags & ~PB_FOLL_LONGTERM
				     : gup_flags,
	};
	if (ioctl(g->fd, gt_stock(cmd), &t))
		return pb_say_errno(why, PB_FAIL, errno, "gup_test ioctl");
	if (t.size != c->t.len) {
		/* stock gup_test stops at a GUP error and hides the errno */
		s->err = -1;
		return pb_say(why, t.size ? PB_FAIL : PB_REFUSED,
			      "kernel refused %s on %s after %llu of %zu bytes "
			      "(stock gup_test hides the errno)",
			      c->pr->path, c->bk->name,
			      (unsigned long long)t.size, c->t.len);
	}
	s->get_ns = t.get_delta_usec * 1000;
	s->put_ns = t.put_delta_usec * 1000;
	s->pages = c->t.len / PB_PAGE;
	s->calls = (s->pages + ppc - 1) / ppc;
	return PB_OK;
}

#define GUP_TEST_PROBE(NAME, CMD, FLAGS, PRFLAGS, PATH)                  \
	static int NAME##_available(const struct pb_opts *o, char *why)  \
	{                                                                \
		(void)o;                                                 \
		return gt_available((CMD), why);                         \
	}                                                                \
	static int NAME##_iterate(struct pb_ctx *c, struct pb_sample *s, \
				  char *why)                             \
	{                                                                \
		return gt_iterate(c, (CMD), (FLAGS), s, why);            \
	}                                                                \
	const struct pb_probe pb_probe_##NAME = {                        \
		.name = "gup_test." #NAME,                               \
		.path = PATH,                                            \
		.via = "gup_test ioctl",                                 \
		.flags = PB_PR_PUT | PB_PR_KTIME | (PRFLAGS),            \
		.available = NAME##_available,                           \
		.open = gt_open,                                         \
		.iterate = NAME##_iterate,                               \
		.close = gt_close,                                       \
	}

GUP_TEST_PROBE(gup_fast, PINLAB_GUP_FAST, 0, 0, "get_user_pages_fast");
GUP_TEST_PROBE(pin_fast, PINLAB_PIN_FAST, 0, 0, "pin_user_pages_fast");
GUP_TEST_PROBE(pin_longterm, PINLAB_PIN_LONGTERM, 0, 0,
	       "pin_user_pages(FOLL_LONGTERM)");
GUP_TEST_PROBE(pin_fast_longterm, PINLAB_PIN_FAST, PB_FOLL_LONGTERM, 0,
	       "pin_user_pages_fast(FOLL_LONGTERM)");
GUP_TEST_PROBE(gup_remote, PINLAB_GUP_REMOTE, 0, PB_PR_REMOTE,
	       "get_user_pages_remote");
GUP_TEST_PROBE(pin_remote, PINLAB_PIN_REMOTE, 0, PB_PR_REMOTE,
	       "pin_user_pages_remote");
GUP_TEST_PROBE(pin_remote_longterm, PINLAB_PIN_REMOTE_LONGTERM, 0, PB_PR_REMOTE,
	       "pin_user_pages_remote(FOLL_LONGTERM)");
