/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "second process" of the remote paths: a child that maps the backing
 * itself, faults and verifies it, reports the address, and waits until told
 * to go (or its parent dies: PR_SET_PDEATHSIG).  It is always reaped.
 */
#ifndef PINLAB_CHILD_H
#define PINLAB_CHILD_H

#include <stddef.h>

struct pb_backing;
struct pb_opts;

struct pb_child {
	int pid;
	int cmd_fd; /* 'r': refresh the memory; EOF: unmap and exit */
	int reply_fd;
	void *addr; /* the buffer, in the child's address space */
	int node;
};

int pb_child_start(struct pb_child *ch, const struct pb_backing *bk,
		   const struct pb_opts *o, size_t len, unsigned nvmas,
		   char *why);
int pb_child_stop(struct pb_child *ch, char *why);
/* The target's CPU from --cpu=CPU,CHILD; -1: none (or a bad value). */
int pb_child_cpu(const struct pb_opts *o);
/* Ask the child to run its backing's refresh(); waits for the answer. */
int pb_child_refresh(struct pb_child *ch, char *why);

#endif
