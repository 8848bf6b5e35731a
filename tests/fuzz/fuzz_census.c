/* libFuzzer harness: corrupt words of a real process's memory image and
 * run both censuses over it.  Each input is a list of 13-byte records
 * {u32 word, u8 mode, u64 value}: mode 0 stores VALUE in the word, 1 adds
 * a small delta, 2 stores a pointer into some mapping (VALUE picks it), 3
 * stores a pointer to the start of the word's own neighbourhood (cycles).
 * The image is restored after each input.  PYCENSUS_FUZZ_IMAGE names it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "snapshot.h"

static struct pc_image img;
static struct pc_session *session;
static struct pc_mem *mem;
static uint64_t nwords;       /* words in writable mappings */

#define MAX_RECORDS 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *file = getenv("PYCENSUS_FUZZ_IMAGE");
	if (!file || pc_image_load(file, &img) < 0) {
		fprintf(stderr, "fuzz_census: set PYCENSUS_FUZZ_IMAGE to an image from dump_image\n");
		exit(2);
	}
	struct pc_error *err = pc_session_open_offline(img.path, img.bias, img.major, img.minor, &session);
	if (!err)
		err = pc_mem_open_buffers(img.maps, img.nmaps, &mem);
	if (err) {
		fprintf(stderr, "fuzz_census: %s\n", err->msg);
		exit(2);
	}
	for (size_t i = 0; i < img.nmaps; i++)
		if (img.maps[i].writable)
			nwords += (img.maps[i].end - img.maps[i].start) / 8;
	return 0;
}

static uint64_t *word_at(uint64_t k, uint64_t *addr)
{
	k %= nwords;
	for (size_t i = 0; i < img.nmaps; i++) {
		struct pc_mem_buffer *b = &img.maps[i];
		if (!b->writable)
			continue;
		uint64_t n = (b->end - b->start) / 8;
		if (k < n) {
			*addr = b->start + k * 8;
			return (uint64_t *)(void *)(b->data + k * 8);
		}
		k -= n;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t *where[MAX_RECORDS], old[MAX_RECORDS];
	int n = 0;
	for (size_t off = 0; off + 13 <= size && n < MAX_RECORDS; off += 13) {
		uint32_t k;
		uint8_t mode = data[off + 4];
		uint64_t v, addr;
		memcpy(&k, data + off, 4);
		memcpy(&v, data + off + 5, 8);
		uint64_t *w = word_at(k, &addr);
		if (!w)
			break;
		where[n] = w;
		memcpy(&old[n], w, 8);
		uint64_t nv;
		switch (mode % 4) {
		case 0:
			nv = v;
			break;
		case 1:
			nv = old[n] + (uint64_t)(int64_t)(int8_t)v;
			break;
		case 2: {
			const struct pc_mem_buffer *b = &img.maps[v % img.nmaps];
			nv = b->start + ((v >> 16) % (b->end - b->start));
			break;
		}
		default:
			nv = addr - ((v % 64) * 8);
			break;
		}
		memcpy(w, &nv, 8);
		n++;
	}
	struct pc_census c;
	if (!pc_census_image(session, mem, PC_SCOPE_REACHABLE, &c))
		pc_census_fini(&c);
	if (!pc_census_image(session, mem, PC_SCOPE_GC, &c))
		pc_census_fini(&c);
	while (n-- > 0)
		memcpy(where[n], &old[n], 8);
	return 0;
}
