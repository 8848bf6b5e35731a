#include <stdlib.h>
#include <string.h>

#include "image.h"

static int rd(FILE *f, void *p, size_t n)
{
	return fread(p, 1, n, f) == n ? 0 : -1;
}

int pc_image_load(const char *file, struct pc_image *img)
{
	memset(img, 0, sizeof(*img));
	FILE *f = fopen(file, "rb");
	if (!f)
		return -1;
	char magic[8];
	uint32_t major, minor, pathlen, nmaps;
	if (rd(f, magic, 8) || memcmp(magic, "PYCIMG1", 8) || rd(f, &major, 4) || rd(f, &minor, 4) ||
	    rd(f, &img->bias, 8) || rd(f, &pathlen, 4) || pathlen >= sizeof(img->path) ||
	    rd(f, img->path, pathlen) || rd(f, &nmaps, 4) || nmaps > 100000)
		goto fail;
	img->major = (int)major;
	img->minor = (int)minor;
	img->maps = calloc(nmaps ? nmaps : 1, sizeof(*img->maps));
	if (!img->maps)
		goto fail;
	for (uint32_t i = 0; i < nmaps; i++) {
		struct pc_mem_buffer *b = &img->maps[i];
		uint32_t w;
		if (rd(f, &b->start, 8) || rd(f, &b->end, 8) || rd(f, &w, 4) || b->end <= b->start ||
		    b->end - b->start > (1ULL << 32))
			goto fail;
		b->writable = w != 0;
		b->data = malloc(b->end - b->start);
		img->nmaps++;
		if (!b->data || rd(f, b->data, b->end - b->start))
			goto fail;
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	pc_image_free(img);
	return -1;
}

void pc_image_free(struct pc_image *img)
{
	for (size_t i = 0; i < img->nmaps; i++)
		free(img->maps[i].data);
	free(img->maps);
	memset(img, 0, sizeof(*img));
}
