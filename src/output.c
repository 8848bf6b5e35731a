#include <json-c/json.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "output.h"

#define J_U64(v) json_object_new_uint64((uint64_t)(v))

void pc_human_bytes(char *buf, size_t len, double b)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	double v = b < 0 ? -b : b;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		b /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f %s", b, units[u]);
	else
		snprintf(buf, len, "%.1f %s", b, units[u]);
}

static const char *scope_name(enum pc_scope s)
{
	return s == PC_SCOPE_GC ? "gc" : "reachable";
}

static json_object *census_json(const struct pc_census *c, const struct pc_output_opts *o)
{
	json_object *root = json_object_new_object();
	json_object_object_add(root, "pycensus", json_object_new_int(1));
	if (o->seq > 0)
		json_object_object_add(root, "seq", json_object_new_int64(o->seq));
	json_object_object_add(root, "time", json_object_new_string(c->time));
	json_object_object_add(root, "pid", json_object_new_int(c->pid));

	json_object *py = json_object_new_object();
	json_object_object_add(py, "version", json_object_new_string(c->version));
	json_object_object_add(py, "binary", json_object_new_string(c->binary ? c->binary : ""));
	json_object_object_add(py, "offsets", json_object_new_string("dwarf"));
	json_object_object_add(py, "debuginfo", json_object_new_string(c->debuginfo ? c->debuginfo : ""));
	json_object_object_add(root, "python", py);

	json_object_object_add(root, "scope", json_object_new_string(scope_name(c->scope)));
	json_object_object_add(root, "complete", json_object_new_boolean(c->complete));
	json_object *proc = json_object_new_object();
	json_object_object_add(proc, "rss_bytes", J_U64(c->rss_bytes));
	json_object_object_add(proc, "threads", json_object_new_int(c->threads));
	json_object_object_add(root, "process", proc);
	json_object_object_add(root, "pause_us", J_U64(c->pause_us));
	json_object_object_add(root, "elapsed_us", J_U64(c->elapsed_us));

	json_object *gc = json_object_new_object();
	json_object *gens = json_object_new_array();
	for (int i = 0; i < c->gc.ngenerations; i++)
		json_object_array_add(gens, J_U64(c->gc.generations[i]));
	json_object_object_add(gc, "generations", gens);
	json_object_object_add(gc, "permanent", J_U64(c->gc.permanent));
	json_object_object_add(root, "gc", gc);

	json_object *rd = json_object_new_object();
	json_object_object_add(rd, "bytes", J_U64(c->read.bytes));
	json_object_object_add(rd, "pages", J_U64(c->read.pages));
	json_object_object_add(rd, "calls", J_U64(c->read.calls));
	json_object_object_add(root, "read", rd);

	json_object *tot = json_object_new_object();
	json_object_object_add(tot, "objects", J_U64(c->total_objects));
	json_object_object_add(tot, "bytes", J_U64(c->total_bytes));
	json_object_object_add(tot, "types", J_U64(c->ntypes));
	json_object_object_add(root, "totals", tot);
	json_object_object_add(root, "invalid", J_U64(c->invalid));

	json_object *types = json_object_new_array();
	size_t n = o->top && o->top < c->ntypes ? o->top : c->ntypes;
	for (size_t i = 0; i < n; i++) {
		const struct pc_type_count *t = &c->types[i];
		json_object *e = json_object_new_object();
		json_object_object_add(e, "type", json_object_new_string(t->name));
		json_object_object_add(e, "count", J_U64(t->count));
		json_object_object_add(e, "bytes", J_U64(t->bytes));
		if (t->has_delta) {
			json_object_object_add(e, "count_delta", json_object_new_int64(t->count_delta));
			json_object_object_add(e, "bytes_delta", json_object_new_int64(t->bytes_delta));
		}
		json_object_array_add(types, e);
	}
	json_object_object_add(root, "types", types);
	if (c->nwarnings) {
		json_object *w = json_object_new_array();
		for (int i = 0; i < c->nwarnings; i++)
			json_object_array_add(w, json_object_new_string(c->warnings[i]));
		json_object_object_add(root, "warnings", w);
	}
	return root;
}

static int print_json(FILE *f, json_object *root, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
	const char *s = json_object_to_json_string_ext(root, flags);
	int r = fprintf(f, "%s\n", s) < 0 ? -1 : 0;
	json_object_put(root);
	return r;
}

static int census_table(FILE *f, const struct pc_census *c, const struct pc_output_opts *o)
{
	char total[32], rss[32];
	pc_human_bytes(total, sizeof(total), (double)c->total_bytes);
	pc_human_bytes(rss, sizeof(rss), (double)c->rss_bytes);
	fprintf(f, "pid %d  Python %s  scope %s  %s\n", c->pid, c->version, scope_name(c->scope), c->time);
	fprintf(f, "%" PRIu64 " objects, %s in %zu types; RSS %s; paused %.1f ms, took %.1f ms%s\n",
		c->total_objects, total, c->ntypes, rss, c->pause_us / 1000.0, c->elapsed_us / 1000.0,
		c->complete ? "" : "  [INCOMPLETE]");
	size_t n = o->top && o->top < c->ntypes ? o->top : c->ntypes;
	size_t w = 4;
	for (size_t i = 0; i < n; i++)
		if (strlen(c->types[i].name) > w)
			w = strlen(c->types[i].name);
	if (w > 60)
		w = 60;
	bool deltas = n && c->types[0].has_delta;
	fprintf(f, "\n%-*s %12s %12s", (int)w, "TYPE", "COUNT", "BYTES");
	if (deltas)
		fprintf(f, " %10s %12s", "+COUNT", "+BYTES");
	fputc('\n', f);
	for (size_t i = 0; i < n; i++) {
		const struct pc_type_count *t = &c->types[i];
		char b[32];
		pc_human_bytes(b, sizeof(b), (double)t->bytes);
		fprintf(f, "%-*.*s %12" PRIu64 " %12s", (int)w, (int)w, t->name, t->count, b);
		if (deltas) {
			char db[32];
			pc_human_bytes(db, sizeof(db), (double)t->bytes_delta);
			fprintf(f, " %+10" PRId64 " %11s%s", t->count_delta, db, t->bytes_delta >= 0 ? "" : "");
		}
		fputc('\n', f);
	}
	if (n < c->ntypes)
		fprintf(f, "... %zu more types\n", c->ntypes - n);
	for (int i = 0; i < c->nwarnings; i++)
		fprintf(f, "warning: %s\n", c->warnings[i]);
	return ferror(f) ? -1 : 0;
}

int pc_output_census(FILE *f, const struct pc_census *c, const struct pc_output_opts *o)
{
	if (o->format == PC_FORMAT_TABLE)
		return census_table(f, c, o);
	return print_json(f, census_json(c, o), o->pretty);
}

static json_object *hex(uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

int pc_output_info(FILE *f, const struct pc_session *s, const struct pc_info *info)
{
	const struct pc_target *t = &s->target;
	json_object *root = json_object_new_object();
	json_object_object_add(root, "pycensus", json_object_new_int(1));
	json_object_object_add(root, "pid", json_object_new_int(s->pid));
	json_object *py = json_object_new_object();
	json_object_object_add(py, "version", json_object_new_string(info->version));
	json_object_object_add(py, "binary", json_object_new_string(t->module_path ? t->module_path : ""));
	json_object_object_add(py, "build_id", json_object_new_string(t->build_id));
	json_object_object_add(py, "offsets", json_object_new_string("dwarf"));
	json_object_object_add(py, "debuginfo", json_object_new_string(t->debug_path ? t->debug_path : ""));
	json_object_object_add(root, "python", py);
	json_object_object_add(root, "runtime", hex(t->runtime));
	json_object_object_add(root, "load_bias", hex(t->bias));
	json_object *in = json_object_new_array();
	for (int i = 0; i < info->ninterps; i++)
		json_object_array_add(in, hex(info->interps[i]));
	json_object_object_add(root, "interpreters", in);
	json_object_object_add(root, "threads", json_object_new_int(info->threads));

	const struct pc_layout *L = &s->layout;
	json_object *lay = json_object_new_object();
	json_object_object_add(lay, "gc_state", json_object_new_string(L->gc_in_runtime ? "runtime" : "interpreter"));
	json_object_object_add(lay, "gc_state_offset", json_object_new_int64(L->gc_state));
	json_object_object_add(lay, "generations", json_object_new_int64(L->gc_ngenerations));
	json_object_object_add(lay, "sizeof_PyGC_Head", json_object_new_int64(L->gc_head_size));
	json_object_object_add(lay, "sizeof_PyTypeObject", json_object_new_int64(L->type_size));
	json_object_object_add(lay, "sizeof_PyHeapTypeObject", json_object_new_int64(L->heaptype_size));
	json_object_object_add(lay, "preheader", json_object_new_boolean(L->has_preheader));
	json_object_object_add(root, "layout", lay);
	return print_json(f, root, true);
}
