// SPDX-License-Identifier: GPL-2.0
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backing.h"

struct reply {
	int status;
	int node;
	uint64_t addr;
	char why[PB_WHY];
};

static int read_full(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

int pb_child_cpu(const struct pb_opts *o)
{
	const char *c = o->cpus ? strchr(o->cpus, ',') : NULL;
	char *end;
	long cpu;

	if (!c)
		return -1;
	cpu = strtol(c + 1, &end, 10);
	return end == c + 1 || *end || cpu < 0 || cpu >= CPU_SETSIZE ? -1
								     : (int)cpu;
}

static void child_main(int cmd_fd, int reply_fd, const struct pb_backing *bk,
		       const struct pb_opts *o, size_t len, unsigned nvmas)
{
	struct pb_mem m;
	struct reply rep;
	char c;

	memset(&rep, 0, sizeof(rep));
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	if (pb_child_cpu(o) >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(pb_child_cpu(o), &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	rep.status = pb_mem_setup(&m, bk, o, len, nvmas, rep.why);
	rep.addr = rep.status ? 0 : (uint64_t)(uintptr_t)m.addr;
	rep.node = m.node;
	if (write(reply_fd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		_exit(2);
	if (rep.status)
		_exit(0);
	/* commands until EOF on the command pipe */
	for (;;) {
		ssize_t n = read(cmd_fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		memset(&rep, 0, sizeof(rep));
		rep.status = bk->refresh ? bk->refresh(&m, rep.why) : PB_OK;
		if (write(reply_fd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
			break;
	}
	pb_mem_teardown(bk, &m);
	_exit(0);
}

int pb_child_start(struct pb_child *ch, const struct pb_backing *bk,
		   const struct pb_opts *o, size_t len, unsigned nvmas,
		   char *why)
{
	int cmd[2], rep[2];
	struct reply r;

	memset(ch, 0, sizeof(*ch));
	ch->cmd_fd = ch->reply_fd = -1;
	if (pipe2(cmd, O_CLOEXEC) || pipe2(rep, O_CLOEXEC))
		return pb_say_errno(why, PB_FAIL, errno, "pipe");
	ch->pid = fork();
	if (ch->pid < 0) {
		int e = errno;
		close(cmd[0]), close(cmd[1]), close(rep[0]), close(rep[1]);
		return pb_say_errno(why, PB_FAIL, e, "fork");
	}
	if (ch->pid == 0) {
		close(cmd[1]);
		close(rep[0]);
		child_main(cmd[0], rep[1], bk, o, len, nvmas);
	}
	close(cmd[0]);
	close(rep[1]);
	ch->cmd_fd = cmd[1];
	ch->reply_fd = rep[0];
	if (read_full(rep[0], &r, sizeof(r))) {
		pb_child_stop(ch, NULL);
		return pb_say(why, PB_FAIL,
			      "the target process died while mapping %s",
			      bk->name);
	}
	if (r.status) {
		pb_child_stop(ch, NULL);
		return pb_say(why, r.status, "%s", r.why);
	}
	ch->addr = (void *)(uintptr_t)r.addr;
	ch->node = r.node;
	return PB_OK;
}

int pb_child_stop(struct pb_child *ch, char *why)
{
	int st = 0;
	pid_t r;

	if (ch->cmd_fd >= 0)
		close(ch->cmd_fd);
	if (ch->reply_fd >= 0)
		close(ch->reply_fd);
	ch->cmd_fd = ch->reply_fd = -1;
	if (ch->pid <= 0)
		return PB_OK;
	do
		r = waitpid(ch->pid, &st, 0);
	while (r < 0 && errno == EINTR);
	ch->pid = 0;
	if (r < 0)
		return pb_say_errno(why, PB_FAIL, errno, "waitpid");
	if (WIFSIGNALED(st))
		return pb_say(why, PB_FAIL,
			      "the target process died of signal %d",
			      WTERMSIG(st));
	if (WEXITSTATUS(st))
		return pb_say(why, PB_FAIL, "the target process exited %d",
			      WEXITSTATUS(st));
	return PB_OK;
}

int pb_child_refresh(struct pb_child *ch, char *why)
{
	struct reply r;

	if (write(ch->cmd_fd, "r", 1) != 1 ||
	    read_full(ch->reply_fd, &r, sizeof(r)))
		return pb_say(why, PB_FAIL, "the target process is gone");
	if (r.status)
		return pb_say(why, r.status, "%s", r.why);
	return PB_OK;
}
