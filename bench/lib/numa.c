// SPDX-License-Identifier: GPL-2.0
#include "numa.h"

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdint.h>
#include <stdlib.h>

#include "util.h"

int pb_numa_nodes(void)
{
	if (numa_available() < 0)
		return 1;
	return numa_num_configured_nodes();
}

int pb_numa_check_node(int node, char *why)
{
	int max = numa_available() < 0 ? 0 : numa_max_node();

	if (node < 0)
		return PB_OK;
	if (numa_available() < 0 && node == 0)
		return PB_OK;
	if (node > max || numa_available() < 0 ||
	    !numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)node))
		return pb_say(why, PB_FAIL,
			      "NUMA node %d does not exist (this machine has "
			      "%d node%s, 0-%d)",
			      node, pb_numa_nodes(),
			      pb_numa_nodes() == 1 ? "" : "s", max);
	return PB_OK;
}

int pb_numa_run_on(int node, char *why)
{
	if (node < 0 || numa_available() < 0)
		return PB_OK;
	if (numa_run_on_node(node))
		return pb_say_errno(why, PB_FAIL, errno,
				    "run on the CPUs of node %d", node);
	return PB_OK;
}

int pb_numa_bind_task(int node, char *why)
{
	unsigned long mask[16] = { 0 };

	if (numa_available() < 0)
		return PB_OK; /* node 0 checked already: nothing to bind */
	mask[node / 64] |= 1UL << (node % 64);
	if (set_mempolicy(MPOL_BIND, mask, 1024))
		return pb_say_errno(why, PB_FAIL, errno,
				    "set_mempolicy(MPOL_BIND, node %d)", node);
	return PB_OK;
}

void pb_numa_unbind_task(void)
{
	if (numa_available() >= 0)
		set_mempolicy(MPOL_DEFAULT, NULL, 0);
}

int pb_numa_bind_range(void *addr, size_t len, int node, char *why)
{
	unsigned long mask[16] = { 0 };

	if (numa_available() < 0)
		return PB_OK;
	mask[node / 64] |= 1UL << (node % 64);
	if (mbind(addr, len, MPOL_BIND, mask, 1024, MPOL_MF_STRICT))
		return pb_say_errno(why, PB_FAIL, errno, "mbind node %d", node);
	return PB_OK;
}

int pb_numa_verify(void *addr, size_t len, size_t stride, int want, bool dax,
		   int *found, char *why)
{
	enum { BATCH = 1024 };
	void *pages[BATCH];
	int status[BATCH];
	int common = -2;

	*found = -1;
	if (numa_available() < 0) {
		*found = 0;
		return PB_OK;
	}
	for (size_t off = 0; off < len;) {
		unsigned n = 0;
		for (; n < BATCH && off < len; n++, off += stride)
			pages[n] = (char *)addr + off;
		if (move_pages(0, n, pages, NULL, status, 0))
			return pb_say_errno(why, PB_FAIL, errno,
					    "move_pages (query)");
		for (unsigned i = 0; i < n; i++) {
			int s = status[i];
			if (s < 0) {
				if (want >= 0)
					return pb_say(
						why, dax ? PB_SKIP : PB_FAIL,
						"cannot tell the node of the "
						"page at +%#zx: move_pages "
						"status %d",
						(size_t)((char *)pages[i] -
							 (char *)addr),
						s);
				common = -1;
				continue;
			}
			if (want >= 0 && s != want)
				return pb_say(why, PB_FAIL,
					      "NUMA: the page at +%#zx is on "
					      "node %d, not node %d%s",
					      (size_t)((char *)pages[i] -
						       (char *)addr),
					      s, want,
					      dax ? " (DAX memory stays on "
						    "its device's node)"
						  : "");
			if (common == -2)
				common = s;
			else if (common != s)
				common = -1;
		}
	}
	*found = common < 0 ? -1 : common;
	return PB_OK;
}
