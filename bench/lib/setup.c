// SPDX-License-Identifier: GPL-2.0
/* A checked case's memory: reserve, map, place, split, fault, verify. */
#include "backing.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "numa.h"

int pb_mem_reserve(const struct pb_backing *bk, const struct pb_opts *o,
		   size_t len, char *why)
{
	return bk->reserve ? bk->reserve(o, len, why) : PB_OK;
}

int pb_map_aligned(struct pb_mem *m, size_t len, size_t align, int prot,
		   int flags, int fd, char *why)
{
	char *p, *a;
	size_t slack;

	if (align <= PB_PAGE || (flags & MAP_HUGETLB)) {
		/* hugetlb mappings come aligned to their page size */
		p = mmap(NULL, len, prot, flags, fd, 0);
		if (p == MAP_FAILED)
			return pb_say_errno(why,
					    errno == ENOMEM ? PB_SKIP : PB_FAIL,
					    errno, "mmap %zu bytes", len);
		m->map = m->addr = p;
		m->map_len = m->len = len;
		return PB_OK;
	}
	/* reserve an address range, then place the buffer aligned in it */
	slack = align;
	p = mmap(NULL, len + slack, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return pb_say_errno(why, PB_FAIL, errno,
				    "reserve %zu bytes of address space", len);
	a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (mmap(a, len, prot, flags | MAP_FIXED, fd, 0) == MAP_FAILED) {
		int e = errno;
		munmap(p, len + slack);
		return pb_say_errno(why, e == ENOMEM ? PB_SKIP : PB_FAIL, e,
				    "mmap %zu bytes", len);
	}
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (p + len + slack > a + len)
		munmap(a + len, (size_t)(p + len + slack - (a + len)));
	m->map = m->addr = a;
	m->map_len = m->len = len;
	return PB_OK;
}

void pb_unmap_common(struct pb_mem *m)
{
	if (m->map)
		munmap(m->map, m->map_len);
	if (m->fd >= 0)
		close(m->fd);
	m->map = m->addr = NULL;
	m->fd = -1;
	m->path[0] = 0;
}

static int make_file(struct pb_mem *m, const char *dir, const char *tag,
		     size_t len, bool fill, size_t extsize, char *why)
{
	int r;

	snprintf(m->path, sizeof(m->path), "%s/pinbench-%s-XXXXXX", dir, tag);
	m->fd = mkostemp(m->path, O_CLOEXEC);
	if (m->fd < 0) {
		int e = errno;
		m->path[0] = 0;
		return pb_say_errno(why, PB_SKIP, e, "create a file in %s",
				    dir);
	}
	/*
	 * Unlinked at once: the open file is all pinbench needs, and no exit,
	 * SIGKILL included, can leave it behind (path stays for messages).
	 */
	unlink(m->path);
	if (extsize) {
		/*
		 * An extent-size hint before any block is allocated: XFS then
		 * allocates the file in extsize-aligned extents (on a
		 * filesystem made with su=extsize they are aligned on the
		 * device too).  Filesystems without the hint refuse it; the
		 * backing's check after mapping decides.
		 */
		struct fsxattr fa;

		if (ioctl(m->fd, FS_IOC_FSGETXATTR, &fa) == 0) {
			fa.fsx_xflags |= FS_XFLAG_EXTSIZE;
			fa.fsx_extsize = (__u32)extsize;
			(void)ioctl(m->fd, FS_IOC_FSSETXATTR, &fa);
		}
	}
	if (fill) {
		static const char zero[64 * 1024];
		for (size_t off = 0; off < len;) {
			size_t n = len - off < sizeof(zero) ? len - off
							    : sizeof(zero);
			ssize_t w = write(m->fd, zero, n);
			if (w <= 0)
				return pb_say_errno(why, PB_SKIP,
						    w < 0 ? errno : ENOSPC,
						    "write %s", m->path);
			off += (size_t)w;
		}
		if (fsync(m->fd))
			return pb_say_errno(why, PB_FAIL, errno, "fsync %s",
					    m->path);
		return PB_OK;
	}
	r = posix_fallocate(m->fd, 0, (off_t)len);
	if (r)
		return pb_say_errno(why, PB_SKIP, r, "allocate %zu bytes in %s",
				    len, dir);
	return PB_OK;
}

int pb_make_file(struct pb_mem *m, const char *dir, const char *tag, size_t len,
		 bool fill, char *why)
{
	return make_file(m, dir, tag, len, fill, 0, why);
}

int pb_make_file_extsize(struct pb_mem *m, const char *dir, const char *tag,
			 size_t len, size_t extsize, char *why)
{
	return make_file(m, dir, tag, len, false, extsize, why);
}

int pb_pmd_mappable(const struct pb_mem *m, size_t *bad, size_t *total,
		    char *why)
{
	uint64_t ent[PB_PMD / PB_PAGE];
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	*bad = *total = 0;
	if (fd < 0)
		return pb_say_errno(why, PB_SKIP, errno,
				    "open /proc/self/pagemap");
	for (size_t off = 0; off + PB_PMD <= m->len; off += PB_PMD) {
		uintptr_t va = (uintptr_t)m->addr + off;
		ssize_t n = pread(fd, ent, sizeof(ent),
				  (off_t)(va / PB_PAGE * sizeof(uint64_t)));
		uint64_t pfn0 = ent[0] & PB_PFN_MASK;
		bool ok = (va % PB_PMD) == 0;

		if (n != (ssize_t)sizeof(ent)) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			return pb_say_errno(why, PB_FAIL, e,
					    "read /proc/self/pagemap");
		}
		if (!(ent[0] & PB_PM_PRESENT) || !pfn0) {
			close(fd);
			return pb_say(why, PB_SKIP,
				      "pagemap shows no page frame numbers "
				      "(needs CAP_SYS_ADMIN): cannot check "
				      "the mapping size");
		}
		ok = ok && pfn0 % (PB_PMD / PB_PAGE) == 0;
		for (size_t i = 1; ok && i < PB_PMD / PB_PAGE; i++)
			ok = (ent[i] & PB_PM_PRESENT) &&
			     (ent[i] & PB_PFN_MASK) == pfn0 + i;
		*bad += !ok;
		(*total)++;
	}
	close(fd);
	return PB_OK;
}

static int split_vmas(struct pb_mem *m, unsigned nvmas, char *why)
{
	size_t chunk = m->len / nvmas;

	for (unsigned i = 1; i < nvmas; i += 2) {
		char *p = m->addr + (size_t)i * chunk;
		if (madvise(p, chunk, MADV_DONTDUMP) == 0)
			continue;
		/* VM_SPECIAL mappings refuse DONTDUMP: differ by PROT_EXEC */
		if (mprotect(p, chunk, PROT_READ | PROT_WRITE | PROT_EXEC))
			return pb_say_errno(why, PB_FAIL, errno,
					    "split into %u VMAs", nvmas);
	}
	return PB_OK;
}

int pb_mem_setup(struct pb_mem *m, const struct pb_backing *bk,
		 const struct pb_opts *o, size_t len, unsigned nvmas, char *why)
{
	int r, n;
	bool bound = false;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->node = -1;
	m->nvmas = nvmas;
	m->page_size = bk->page_size(o);
	if ((bk->flags & PB_BK_PLACED) && o->node >= 0)
		return pb_say(why, PB_SKIP,
			      "%s places itself (its zone's node): no --node",
			      bk->name);
	if (o->node >= 0 && !(bk->flags & PB_BK_DAX)) {
		r = pb_numa_bind_task(o->node, why);
		if (r)
			return r;
		bound = true;
	}
	r = bk->map(m, len, o, why);
	if (r)
		goto fail;
	if (bound) {
		r = pb_numa_bind_range(m->addr, m->len, o->node, why);
		if (r)
			goto fail;
	}
	if (nvmas > 1) {
		r = split_vmas(m, nvmas, why);
		if (r)
			goto fail;
	}
	pb_mem_touch(m);
	n = pb_count_vmas(0, m->addr, m->len);
	if (n != (int)nvmas) {
		r = pb_say(why, PB_FAIL,
			   "%s: asked for %u VMAs, /proc/self/maps "
			   "shows %d",
			   bk->name, nvmas, n);
		goto fail;
	}
	if (bk->verify) {
		r = bk->verify(m, why);
		if (r)
			goto fail;
	}
	r = pb_numa_verify(m->addr, m->len, m->page_size, o->node,
			   bk->flags & PB_BK_DAX, &m->node, why);
	if (r)
		goto fail;
	if (bound)
		pb_numa_unbind_task();
	return PB_OK;
fail:
	if (bound)
		pb_numa_unbind_task();
	bk->unmap(m);
	return r;
}

void pb_mem_teardown(const struct pb_backing *bk, struct pb_mem *m)
{
	bk->unmap(m);
}

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

int pb_fd_is_dax(int fd)
{
	struct statx st;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &st))
		return -errno;
	return !!(st.stx_attributes & STATX_ATTR_DAX);
}

bool pb_dir_is_tmpfs(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

int pb_disk_dir_check(const char *dir, const char *tmpfs_why, char *why)
{
	struct stat st;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return pb_say(why, PB_FAIL, "--dir %s is not a directory", dir);
	if (pb_dir_is_tmpfs(dir))
		return pb_say(why, PB_SKIP, "--dir %s is tmpfs: %s", dir,
			      tmpfs_why);
	return PB_OK;
}
