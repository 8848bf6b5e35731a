#include <string.h>

#include "runtime_scan.h"

/* _Py_DebugOffsets' header, the same in 3.13-3.15: cookie, version,
 * free_threaded, then runtime_state {size, finalizing, interpreters_head}. */
#define OFF_VERSION 8
#define OFF_FREE_THREADED 16
#define OFF_RUNTIME_SIZE 24
#define OFF_INTERPRETERS_HEAD 40
#define HEADER 48
/* _PyRuntimeState is some hundred KiB; far more is not one. */
#define RUNTIME_MAX (16u << 20)

int pc_runtime_initialised(struct pc_mem *mem, uint64_t rt, uint64_t *version)
{
	unsigned char h[HEADER];
	if (!pc_mem_read(mem, rt, h, sizeof(h)) || memcmp(h, "xdebugpy", 8))
		return -1;
	uint64_t v, ft, size, head_off, head = 0;  /* -O1 cannot see pc_mem_u64 set it */
	memcpy(&v, h + OFF_VERSION, 8);
	memcpy(&ft, h + OFF_FREE_THREADED, 8);
	memcpy(&size, h + OFF_RUNTIME_SIZE, 8);
	memcpy(&head_off, h + OFF_INTERPRETERS_HEAD, 8);
	*version = v;
	if (v >> 24 != 3 || ((v >> 16) & 0xff) < 13 || ft > 1 || size < HEADER || size > RUNTIME_MAX ||
	    head_off < HEADER || head_off + 8 > size)
		return 0;
	/* A runtime never initialised has no interpreter in its list. */
	return pc_mem_u64(mem, rt + head_off, &head) && head ? 1 : 0;
}

int pc_runtime_scan(struct pc_mem *mem, uint64_t lo, uint64_t hi, uint64_t *rt, int max)
{
	int n = 0;
	for (size_t i = 0; i < mem->nmaps && n < max; i++) {
		const struct pc_mapping *m = &mem->maps[i];
		if (!m->writable || !m->readable || m->start < lo || m->end > hi)
			continue;
		const unsigned char *p = pc_mem_ptr(mem, m->start, (size_t)(m->end - m->start));
		if (!p)
			continue;
		/* _PyRuntime is aligned at least to 8 (it holds pointers). */
		for (uint64_t off = 0; off + HEADER <= m->end - m->start && n < max; off += 8) {
			uint64_t v;
			if (p[off] == 'x' && !memcmp(p + off, "xdebugpy", 8) &&
			    pc_runtime_initialised(mem, m->start + off, &v) == 1)
				rt[n++] = m->start + off;
		}
	}
	return n;
}
