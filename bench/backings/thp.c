// SPDX-License-Identifier: GPL-2.0
/* thp: private anonymous memory in transparent huge pages (MADV_HUGEPAGE). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "../lib/backing.h"

#define THP_DIR "/sys/kernel/mm/transparent_hugepage"

static size_t thp_page_size(const struct pb_opts *o)
{
	uint64_t v;

	(void)o;
	if (pb_read_u64(THP_DIR "/hpage_pmd_size", &v) == 0 && v)
		return (size_t)v;
	return 2 * MiB;
}

static int thp_available(const struct pb_opts *o, char *why)
{
	char mode[32];

	(void)o;
	if (pb_read_choice(THP_DIR "/enabled", mode, sizeof(mode)))
		return pb_say(
			why, PB_SKIP,
			"kernel without transparent huge pages (no " THP_DIR
			")");
	if (!strcmp(mode, "never"))
		return pb_say(why, PB_SKIP,
			      "THP disabled (" THP_DIR "/enabled = never)");
	return PB_OK;
}

static int thp_map(struct pb_mem *m, size_t len, const struct pb_opts *o,
		   char *why)
{
	char mode[32] = "";
	int r = pb_map_aligned(m, len, thp_page_size(o), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, why);

	if (r)
		return r;
	if (madvise(m->addr, len, MADV_HUGEPAGE)) {
		int e = errno;
		pb_read_choice(THP_DIR "/enabled", mode, sizeof(mode));
		if (strcmp(mode, "always")) {
			pb_unmap_common(m);
			return pb_say_errno(why, PB_SKIP, e,
					    "madvise(MADV_HUGEPAGE) with THP "
					    "in '%s' mode",
					    mode);
		}
	}
	return PB_OK;
}

static int thp_verify(const struct pb_mem *m, char *why)
{
	uint64_t kb;
	int r = pb_huge_kb(0, m->addr, m->len, &kb);

	if (r)
		return pb_say_errno(why, PB_FAIL, -r, "read /proc/self/smaps");
	if (kb * 1024 != m->len)
		return pb_say(why, PB_SKIP,
			      "THP: only %llu of %zu kB came as huge pages "
			      "(AnonHugePages in smaps)",
			      (unsigned long long)kb, m->len / 1024);
	return PB_OK;
}

const struct pb_backing pb_backing_thp = {
	.name = "thp",
	.desc = "private anonymous memory in THPs (MADV_HUGEPAGE, "
		"checked in smaps)",
	.page_size = thp_page_size,
	.available = thp_available,
	.map = thp_map,
	.verify = thp_verify,
	.unmap = pb_unmap_common,
};
