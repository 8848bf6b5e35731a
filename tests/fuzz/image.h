/* Memory images for the fuzzer: the writable and read-only data mappings
 * of a stopped CPython process, with what is needed to read them again
 * offline (the interpreter's debug file, its load bias, its version).
 *
 * Format (little-endian): "PYCIMG1\0", u32 major, u32 minor, u64 bias,
 * u32 pathlen, path, u32 nmaps, then per mapping u64 start, u64 end,
 * u32 writable, and end-start bytes. */
#ifndef PC_FUZZ_IMAGE_H
#define PC_FUZZ_IMAGE_H

#include <stdint.h>
#include <stdio.h>

#include "mem.h"

struct pc_image {
	int major, minor;
	uint64_t bias;
	char path[4096];
	struct pc_mem_buffer *maps;
	size_t nmaps;
};

int pc_image_load(const char *file, struct pc_image *img);
void pc_image_free(struct pc_image *img);

#endif
