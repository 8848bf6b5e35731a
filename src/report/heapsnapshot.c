#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heapsnapshot.h"

/* The meta V8 writes (HeapSnapshotJSONSerializer), trace_node_id
 * included: older DevTools and memlab's loader expect the 7 fields. */
static const char meta[] =
	"{\"snapshot\":{\"meta\":{"
	"\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\",\"trace_node_id\",\"detachedness\"],"
	"\"node_types\":[[\"hidden\",\"array\",\"string\",\"object\",\"code\",\"closure\",\"regexp\",\"number\","
	"\"native\",\"synthetic\",\"concatenated string\",\"sliced string\",\"symbol\",\"bigint\",\"object shape\"],"
	"\"string\",\"number\",\"number\",\"number\",\"number\",\"number\"],"
	"\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"
	"\"edge_types\":[[\"context\",\"element\",\"property\",\"internal\",\"hidden\",\"shortcut\",\"weak\"],"
	"\"string_or_number\",\"node\"],"
	"\"trace_function_info_fields\":[\"function_id\",\"name\",\"script_name\",\"script_id\",\"line\",\"column\"],"
	"\"trace_node_fields\":[\"id\",\"function_info_index\",\"count\",\"size\",\"children\"],"
	"\"sample_fields\":[\"timestamp_us\",\"last_assigned_id\"],"
	"\"location_fields\":[\"object_index\",\"script_id\",\"line\",\"column\"]},";

struct pc_hs {
	FILE *f;
	uint32_t nodes, edges;        /* announced */
	uint32_t nodes_done, edges_done;
	/* strings: an arena of NUL-terminated strings, OFF[i] where string i
	 * starts, SLOT an open-addressing index over them (i + 1, 0 empty) */
	char *arena;
	size_t used, cap;
	size_t *off;
	uint32_t nstr, offcap;
	uint32_t *slot;
	size_t nslot;
	bool oom;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static bool rehash(struct pc_hs *h)
{
	size_t ns = h->nslot ? h->nslot * 2 : 4096;
	uint32_t *s = calloc(ns, sizeof(*s));
	if (!s)
		return false;
	for (uint32_t i = 0; i < h->nstr; i++) {
		size_t k = str_hash(h->arena + h->off[i]) & (ns - 1);
		while (s[k])
			k = (k + 1) & (ns - 1);
		s[k] = i + 1;
	}
	free(h->slot);
	h->slot = s;
	h->nslot = ns;
	return true;
}

/* The index of S in the string table, added if new. */
static uint32_t intern(struct pc_hs *h, const char *s)
{
	if (h->oom)
		return 0;
	if (((size_t)h->nstr + 1) * 2 > h->nslot && !rehash(h)) {
		h->oom = true;
		return 0;
	}
	size_t k = str_hash(s) & (h->nslot - 1);
	for (; h->slot[k]; k = (k + 1) & (h->nslot - 1))
		if (!strcmp(h->arena + h->off[h->slot[k] - 1], s))
			return h->slot[k] - 1;
	size_t len = strlen(s) + 1;
	if (h->used + len > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 65536;
		while (cap < h->used + len)
			cap *= 2;
		char *a = realloc(h->arena, cap);
		if (!a) {
			h->oom = true;
			return 0;
		}
		h->arena = a;
		h->cap = cap;
	}
	if (h->nstr == h->offcap) {
		uint32_t cap = h->offcap ? h->offcap * 2 : 4096;
		size_t *o = realloc(h->off, cap * sizeof(*o));
		if (!o) {
			h->oom = true;
			return 0;
		}
		h->off = o;
		h->offcap = cap;
	}
	memcpy(h->arena + h->used, s, len);
	h->off[h->nstr] = h->used;
	h->used += len;
	h->slot[k] = h->nstr + 1;
	return h->nstr++;
}

struct pc_hs *pc_hs_begin(FILE *f, uint32_t nodes, uint32_t edges)
{
	struct pc_hs *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->f = f;
	h->nodes = nodes;
	h->edges = edges;
	/* string 0 is "": V8's root node is named so */
	intern(h, "");
	fputs(meta, f);
	fprintf(f, "\"node_count\":%u,\"edge_count\":%u,\"trace_function_count\":0},\n\"nodes\":[", nodes, edges);
	return h;
}

/* Numbers by hand: fprintf's parsing was half the time of a dump. */
static char *put_u32(char *p, uint32_t v)
{
	char tmp[10];
	int n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* One record of NV numbers, after a separator unless FIRST. */
static void put_record(FILE *f, bool first, const uint32_t *v, int nv)
{
	char buf[2 + PC_HS_NODE_FIELDS * 11], *p = buf;
	if (!first) {
		*p++ = ',';
		*p++ = '\n';
	}
	for (int i = 0; i < nv; i++) {
		if (i)
			*p++ = ',';
		p = put_u32(p, v[i]);
	}
	fwrite(buf, 1, (size_t)(p - buf), f);
}

void pc_hs_node(struct pc_hs *h, enum pc_hs_node_type type, const char *name, uint32_t id,
		uint64_t self_size, uint32_t edge_count)
{
	uint32_t size = self_size > UINT32_MAX ? UINT32_MAX : (uint32_t)self_size;
	uint32_t v[PC_HS_NODE_FIELDS] = { (uint32_t)type, intern(h, name), id, size, edge_count, 0, 0 };
	put_record(h->f, h->nodes_done == 0, v, PC_HS_NODE_FIELDS);
	h->nodes_done++;
}

void pc_hs_edge(struct pc_hs *h, enum pc_hs_edge_type type, const char *name, uint32_t index, uint32_t to)
{
	if (h->edges_done == 0)
		fputs("],\n\"edges\":[", h->f);
	uint32_t n = type == HS_ELEMENT || type == HS_HIDDEN_EDGE ? index : intern(h, name ? name : "");
	uint32_t v[3] = { (uint32_t)type, n, to * PC_HS_NODE_FIELDS };
	put_record(h->f, h->edges_done == 0, v, 3);
	h->edges_done++;
}

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

bool pc_hs_end(struct pc_hs *h)
{
	FILE *f = h->f;
	if (h->edges_done == 0)
		fputs("],\n\"edges\":[", f);
	fputs("],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[],\n\"strings\":[", f);
	for (uint32_t i = 0; i < h->nstr; i++) {
		if (i)
			fputs(",\n", f);
		put_string(f, h->arena + h->off[i]);
	}
	fputs("]}\n", f);
	bool ok = !h->oom && h->nodes_done == h->nodes && h->edges_done == h->edges;
	if (fflush(f) || ferror(f))
		ok = false;
	else if (!ok)
		errno = h->oom ? ENOMEM : EINVAL;
	free(h->arena);
	free(h->off);
	free(h->slot);
	free(h);
	return ok;
}
