/* SPDX-License-Identifier: GPL-2.0 */
/* NUMA placement through libnuma, verified with move_pages(). */
#ifndef PINLAB_NUMA_H
#define PINLAB_NUMA_H

#include <stdbool.h>
#include <stddef.h>

/* Number of configured nodes (1 when the kernel has no NUMA). */
int pb_numa_nodes(void);
/* PB_OK if node exists, else PB_FAIL + why naming the nodes there are. */
int pb_numa_check_node(int node, char *why);
int pb_numa_run_on(int node, char *why);
int pb_numa_bind_task(int node, char *why);
void pb_numa_unbind_task(void);
int pb_numa_bind_range(void *addr, size_t len, int node, char *why);
/*
 * Where are the pages?  *found = the one node they all sit on, -1 if mixed
 * or unknown.  With want >= 0, any page elsewhere is PB_FAIL.
 */
int pb_numa_verify(void *addr, size_t len, size_t stride, int want, bool dax,
		   int *found, char *why);

#endif
