/* dump_image PID FILE: stop a CPython process, copy its data mappings into
 * a memory image (image.h) for the fuzzer, and let it go. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "image.h"
#include "snapshot.h"

#define PAGE 4096ULL

static void wr(FILE *f, const void *p, size_t n)
{
	if (fwrite(p, 1, n, f) != n) {
		perror("dump_image: write");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: dump_image PID FILE\n");
		return 2;
	}
	pid_t pid = (pid_t)atoi(argv[1]);
	struct pc_session *s;
	struct pc_error *err = pc_session_open(pid, &s);
	if (err) {
		fprintf(stderr, "dump_image: %s\n", err->msg);
		return err->code;
	}
	pc_attach_install_signal_handlers(NULL);
	struct pc_attach at;
	struct pc_mem *mem;
	err = pc_attach_stop(&at, pid);
	if (!err)
		err = pc_mem_open(pid, &mem);
	if (err) {
		pc_attach_release(&at);
		fprintf(stderr, "dump_image: %s\n", err->msg);
		return err->code;
	}
	/* Read-only data (type names live in .rodata) first, then the copy. */
	for (size_t i = 0; i < mem->nmaps; i++) {
		struct pc_mapping *m = &mem->maps[i];
		if (m->readable && !m->writable && !m->executable && m->path && m->path[0] == '/' &&
		    m->end - m->start <= (64ULL << 20))
			for (uint64_t a = m->start; a < m->end; a += PAGE)
				pc_mem_ptr(mem, a, 1);
	}
	pc_mem_copy_writable(mem, 0);
	pc_attach_release(&at);

	FILE *f = fopen(argv[2], "wb");
	if (!f) {
		perror("dump_image");
		return 1;
	}
	uint32_t major = (uint32_t)s->target.major, minor = (uint32_t)s->target.minor;
	uint32_t pathlen = (uint32_t)strlen(s->target.debug_path), n = 0;
	wr(f, "PYCIMG1", 8);
	wr(f, &major, 4);
	wr(f, &minor, 4);
	wr(f, &s->target.bias, 8);
	wr(f, &pathlen, 4);
	wr(f, s->target.debug_path, pathlen);
	for (size_t i = 0; i < mem->nmaps; i++)
		if (mem->maps[i].local && mem->maps[i].end - mem->maps[i].start <= (256ULL << 20))
			n++;
	wr(f, &n, 4);
	for (size_t i = 0; i < mem->nmaps; i++) {
		struct pc_mapping *m = &mem->maps[i];
		if (!m->local || m->end - m->start > (256ULL << 20))
			continue;
		uint32_t w = m->writable;
		wr(f, &m->start, 8);
		wr(f, &m->end, 8);
		wr(f, &w, 4);
		wr(f, m->local, m->end - m->start);
	}
	fclose(f);
	fprintf(stderr, "dump_image: %u mappings of process %d (Python %d.%d) in %s\n", n, (int)pid,
		s->target.major, s->target.minor, argv[2]);
	pc_mem_close(mem);
	pc_session_close(s);
	return 0;
}
