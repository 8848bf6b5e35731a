#include <json-c/json.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "output.h"
#include "text.h"
#include "why.h"

#define J_U64(v) json_object_new_uint64((uint64_t)(v))

/* A JSON string of S, escaped (text.h) if it is not valid UTF-8: the
 * document stays valid whatever a path or a string from the target holds. */
static json_object *jstr(const char *s)
{
	char *tmp;
	json_object *o = json_object_new_string(pc_text_show(s, false, &tmp));
	free(tmp);
	return o;
}

/* S in a column W characters wide: escaped if need be (tputs), cut at a
 * character, padded. */
static void cell(FILE *f, const char *s, size_t w)
{
	char *tmp;
	const char *t = pc_text_show(s, true, &tmp);
	size_t cols, len = pc_text_prefix(t, w, &cols);
	fprintf(f, "%.*s%*s", (int)len, t, (int)(w - cols), "");
	free(tmp);
}

/* The width in characters of S in a table. */
static size_t cell_width(const char *s)
{
	char *tmp;
	const char *t = pc_text_show(s, true, &tmp);
	size_t cols;
	pc_text_prefix(t, (size_t)-1, &cols);
	free(tmp);
	return cols;
}

/* fputs S to a table, escaped if it holds control characters or invalid
 * UTF-8, so one row stays one line. */
static void tputs(const char *s, FILE *f)
{
	char *tmp;
	fputs(pc_text_show(s, true, &tmp), f);
	free(tmp);
}

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

/* "+1.2 KiB" / "-340 B": growth always shows its sign. */
static void human_delta(char *buf, size_t len, int64_t d)
{
	if (len < 2)
		return;
	buf[0] = d < 0 ? '-' : '+';
	pc_human_bytes(buf + 1, len - 1, d < 0 ? -(double)d : (double)d);
}

/* A rate or duration with a few significant digits, not json-c's %.17g. */
static json_object *short_double(double v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%.4g", v);
	if (strchr(buf, 'e') || strchr(buf, 'n') || strchr(buf, 'i'))
		snprintf(buf, sizeof(buf), "%.1f", v != v ? 0.0 : v);
	return json_object_new_double_s(v, buf);
}

static double per_second(int64_t v, double seconds)
{
	return seconds > 0 ? (double)v / seconds : 0.0;
}

static const char *scope_name(enum pc_scope s)
{
	return s == PC_SCOPE_GC ? "gc" : "reachable";
}

static json_object *type_rows(const struct pc_type_count *rows, size_t n, bool bytes)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "type", jstr(rows[i].name));
		json_object_object_add(e, "count", J_U64(rows[i].count));
		if (bytes)
			json_object_object_add(e, "bytes", J_U64(rows[i].bytes));
		json_object_array_add(a, e);
	}
	return a;
}

/* Reachable scope: what in-process gc.get_referents() walks would miss
 * ("hidden"), what could not be followed ("opaque"), bad pointers. */
static void add_reachable_stats(json_object *root, const struct pc_census *c)
{
	json_object_object_add(root, "skipped", J_U64(c->skipped));
	json_object *h = json_object_new_object();
	json_object_object_add(h, "objects", J_U64(c->hidden_objects));
	json_object_object_add(h, "bytes", J_U64(c->hidden_bytes));
	json_object_object_add(h, "types", type_rows(c->hidden, c->nhidden, true));
	json_object_object_add(root, "hidden", h);
	json_object_object_add(root, "opaque", type_rows(c->opaque, c->nopaque, false));
}

static json_object *census_json(const struct pc_census *c, const struct pc_output_opts *o)
{
	json_object *root = json_object_new_object();
	json_object_object_add(root, "pycensus", json_object_new_int(1));
	if (o->seq > 0)
		json_object_object_add(root, "seq", json_object_new_int64(o->seq));
	if (o->round > 0)
		json_object_object_add(root, "round", json_object_new_int64(o->round));
	json_object_object_add(root, "time", jstr(c->time));
	json_object_object_add(root, "pid", json_object_new_int(c->pid));
	if (o->root > 0)
		json_object_object_add(root, "root", json_object_new_int(o->root));
	if (o->overrun)
		json_object_object_add(root, "overrun", json_object_new_boolean(true));

	json_object *py = json_object_new_object();
	json_object_object_add(py, "version", jstr(c->version));
	json_object_object_add(py, "binary", jstr(c->binary ? c->binary : ""));
	json_object_object_add(py, "offsets", jstr(c->offsets));
	if (c->offsets_table[0])
		json_object_object_add(py, "offsets_table", jstr(c->offsets_table));
	json_object_object_add(py, "debuginfo", jstr(c->debuginfo ? c->debuginfo : ""));
	json_object_object_add(root, "python", py);
	if (o->session) {
		/* Which shared build (DWARF index, layout, rules) the process's
		 * session uses, and what opening the session cost. */
		json_object *ss = json_object_new_object();
		json_object_object_add(ss, "build", json_object_new_int64(o->session->build->serial));
		json_object_object_add(ss, "processes", json_object_new_int64(o->session->build->refs));
		json_object_object_add(ss, "indexed", json_object_new_boolean(o->session->indexed));
		json_object_object_add(ss, "setup_us", J_U64(o->session->setup_us));
		json_object_object_add(root, "session", ss);
	}

	json_object_object_add(root, "scope", jstr(scope_name(c->scope)));
	json_object_object_add(root, "complete", json_object_new_boolean(c->complete));
	json_object *proc = json_object_new_object();
	json_object_object_add(proc, "rss_bytes", J_U64(c->rss_bytes));
	json_object_object_add(proc, "threads", json_object_new_int(c->threads));
	json_object_object_add(root, "process", proc);
	json_object_object_add(root, "pause_us", J_U64(c->pause_us));
	json_object_object_add(root, "stops", json_object_new_int(c->stops));
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
	json_object_object_add(rd, "mode", json_object_new_string(c->read.mode ? c->read.mode : ""));
	json_object_object_add(rd, "stopped_pages", J_U64(c->read.stop_pages));
	json_object_object_add(rd, "stopped_bytes", J_U64(c->read.stop_bytes));
	json_object_object_add(rd, "refused_pages", J_U64(c->read.refused_pages));
	json_object_object_add(rd, "peak_bytes", J_U64(c->read.peak_bytes));
	json_object_object_add(rd, "max_memory", J_U64(c->read.max_memory));
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
		json_object_object_add(e, "type", jstr(t->name));
		json_object_object_add(e, "count", J_U64(t->count));
		json_object_object_add(e, "bytes", J_U64(t->bytes));
		if (t->has_delta) {
			json_object_object_add(e, "count_delta", json_object_new_int64(t->count_delta));
			json_object_object_add(e, "bytes_delta", json_object_new_int64(t->bytes_delta));
		}
		json_object_array_add(types, e);
	}
	json_object_object_add(root, "types", types);
	if (c->reachable_stats)
		add_reachable_stats(root, c);
	if (o->has_growing) {
		json_object *g = json_object_new_array();
		for (size_t i = 0; i < o->ngrowing; i++) {
			const struct pc_suspect *t = &o->growing[i];
			json_object *e = json_object_new_object();
			json_object_object_add(e, "type", jstr(t->name));
			json_object_object_add(e, "count", J_U64(t->count));
			json_object_object_add(e, "bytes", J_U64(t->bytes));
			json_object_object_add(e, "count_growth", json_object_new_int64(t->count_growth));
			json_object_object_add(e, "bytes_growth", json_object_new_int64(t->bytes_growth));
			json_object_object_add(e, "rounds", json_object_new_int(t->rounds));
			json_object_object_add(e, "seconds", short_double(t->seconds));
			json_object_object_add(e, "count_per_s", short_double(per_second(t->count_growth, t->seconds)));
			json_object_object_add(e, "bytes_per_s", short_double(per_second(t->bytes_growth, t->seconds)));
			if (t->why)
				json_object_object_add(e, "held_by", pc_why_shapes_json(t->why, PC_WATCH_WHY_SHAPES));
			json_object_array_add(g, e);
		}
		json_object_object_add(root, "growing", g);
	}
	if (c->nwarnings) {
		json_object *w = json_object_new_array();
		for (int i = 0; i < c->nwarnings; i++)
			json_object_array_add(w, jstr(c->warnings[i]));
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
	fprintf(f, "pid %d  Python ", c->pid);
	tputs(c->version, f);
	fprintf(f, "  scope %s  %s", scope_name(c->scope), c->time);
	if (o->seq > 0)
		fprintf(f, "  census %ld", o->seq);
	if (o->round > 0)
		fprintf(f, "  round %ld", o->round);
	if (o->root > 0)
		fprintf(f, "  under %d", (int)o->root);
	fputs(o->overrun ? "  [OVERRUN]\n" : "\n", f);
	char stops[32] = "";
	if (c->stops > 1)
		snprintf(stops, sizeof(stops), " in %d stops", c->stops);
	fprintf(f, "%" PRIu64 " objects, %s in %zu types; RSS %s; paused %.1f ms%s, took %.1f ms%s\n",
		c->total_objects, total, c->ntypes, rss, c->pause_us / 1000.0, stops, c->elapsed_us / 1000.0,
		c->complete ? "" : "  [INCOMPLETE]");
	size_t n = o->top && o->top < c->ntypes ? o->top : c->ntypes;
	size_t w = 4;
	for (size_t i = 0; i < n; i++)
		if (cell_width(c->types[i].name) > w)
			w = cell_width(c->types[i].name);
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
		cell(f, t->name, w);
		fprintf(f, " %12" PRIu64 " %12s", t->count, b);
		if (deltas) {
			char db[32];
			human_delta(db, sizeof(db), t->bytes_delta);
			fprintf(f, " %+10" PRId64 " %12s", t->count_delta, db);
		}
		fputc('\n', f);
	}
	if (n < c->ntypes)
		fprintf(f, "... %zu more types\n", c->ntypes - n);
	if (o->has_growing && !o->ngrowing)
		fprintf(f, "\nNo type grew in each of the last %d censuses.\n", o->growth_rounds);
	if (o->ngrowing) {
		fprintf(f, "\nGrowing in each of the last %d censuses (leak suspects):\n", o->growing[0].rounds);
		size_t gw = 4;
		for (size_t i = 0; i < o->ngrowing; i++)
			if (cell_width(o->growing[i].name) > gw)
				gw = cell_width(o->growing[i].name);
		if (gw > 60)
			gw = 60;
		bool held = false;
		for (size_t i = 0; i < o->ngrowing; i++)
			held |= o->growing[i].why != NULL;
		fprintf(f, "%-*s %12s %10s %12s %12s %10s%s\n", (int)gw, "TYPE", "COUNT", "+COUNT", "BYTES",
			"+BYTES", "COUNT/s", held ? "  HELD BY (top shape: instances, chain)" : "");
		for (size_t i = 0; i < o->ngrowing; i++) {
			const struct pc_suspect *t = &o->growing[i];
			char b[32], db[32];
			pc_human_bytes(b, sizeof(b), (double)t->bytes);
			human_delta(db, sizeof(db), t->bytes_growth);
			cell(f, t->name, gw);
			fprintf(f, " %12" PRIu64 " %+10" PRId64 " %12s %12s %10.1f", t->count, t->count_growth, b,
				db, per_second(t->count_growth, t->seconds));
			if (t->why && t->why->nshapes) {
				fprintf(f, "  %" PRIu64 ": ", t->why->shapes[0].count);
				tputs(t->why->shapes[0].path.chain, f);
			}
			fputc('\n', f);
		}
	}
	for (int i = 0; i < c->nwarnings; i++) {
		fputs("warning: ", f);
		tputs(c->warnings[i], f);
		fputc('\n', f);
	}
	return ferror(f) ? -1 : 0;
}

int pc_output_census(FILE *f, const struct pc_census *c, const struct pc_output_opts *o)
{
	if (o->format == PC_FORMAT_TABLE)
		return census_table(f, c, o);
	return print_json(f, census_json(c, o), o->pretty);
}

int pc_output_event(FILE *f, const struct pc_event *e, enum pc_format format)
{
	char now[40];
	pc_iso_time(now, sizeof(now));
	if (format == PC_FORMAT_TABLE) {
		fprintf(f, "%s  pid %d %s", now, (int)e->pid, e->event);
		if (e->parent > 0)
			fprintf(f, " (parent %d)", (int)e->parent);
		if (e->round > 0)
			fprintf(f, " in round %ld", e->round);
		if (e->message) {
			fputs(": ", f);
			tputs(e->message, f);
		}
		fputs("\n\n", f);
		return ferror(f) ? -1 : 0;
	}
	json_object *root = json_object_new_object();
	json_object_object_add(root, "pycensus", json_object_new_int(1));
	json_object_object_add(root, "event", jstr(e->event));
	if (e->round > 0)
		json_object_object_add(root, "round", json_object_new_int64(e->round));
	json_object_object_add(root, "time", jstr(now));
	json_object_object_add(root, "pid", json_object_new_int(e->pid));
	if (e->parent > 0)
		json_object_object_add(root, "parent", json_object_new_int(e->parent));
	if (e->root > 0)
		json_object_object_add(root, "root", json_object_new_int(e->root));
	if (e->message)
		json_object_object_add(root, "error", jstr(e->message));
	if (e->code)
		json_object_object_add(root, "code", json_object_new_int(e->code));
	return print_json(f, root, false);
}

static json_object *diff_side_json(const struct pc_diff_side *d)
{
	const struct pc_census *c = d->c;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "file", jstr(d->file));
	json_object_object_add(o, "pid", json_object_new_int(c->pid));
	json_object_object_add(o, "time", jstr(c->time));
	if (d->seq > 0)
		json_object_object_add(o, "seq", json_object_new_int64(d->seq));
	json_object_object_add(o, "scope", jstr(scope_name(c->scope)));
	if (c->version[0])
		json_object_object_add(o, "python", jstr(c->version));
	json_object *tot = json_object_new_object();
	json_object_object_add(tot, "objects", J_U64(c->total_objects));
	json_object_object_add(tot, "bytes", J_U64(c->total_bytes));
	json_object_object_add(tot, "types", J_U64(c->ntypes));
	json_object_object_add(o, "totals", tot);
	return o;
}

static size_t shown(size_t n, const struct pc_output_opts *o)
{
	return o->top && o->top < n ? o->top : n;
}

static int diff_table(FILE *f, const struct pc_diff *d, const struct pc_output_opts *o)
{
	const struct pc_diff_side *sides[2] = { &d->from, &d->to };
	for (int i = 0; i < 2; i++) {
		const struct pc_census *c = sides[i]->c;
		char b[32];
		pc_human_bytes(b, sizeof(b), (double)c->total_bytes);
		fprintf(f, "%s pid %d  %s", i ? "to  " : "from", c->pid, c->time);
		if (sides[i]->seq > 0)
			fprintf(f, "  census %ld", sides[i]->seq);
		fprintf(f, "  %" PRIu64 " objects, %s  (", c->total_objects, b);
		tputs(sides[i]->file, f);
		fputs(")\n", f);
	}
	int64_t dobj = (int64_t)d->to.c->total_objects - (int64_t)d->from.c->total_objects;
	int64_t dbytes = (int64_t)d->to.c->total_bytes - (int64_t)d->from.c->total_bytes;
	char db[32];
	human_delta(db, sizeof(db), dbytes);
	fprintf(f, "change: %+" PRId64 " objects, %s\n", dobj, db);
	size_t n = shown(d->ntypes, o), w = 4;
	for (size_t i = 0; i < n; i++)
		if (cell_width(d->types[i].name) > w)
			w = cell_width(d->types[i].name);
	if (w > 60)
		w = 60;
	fprintf(f, "\n%-*s %12s %10s %12s %12s\n", (int)w, "TYPE", "COUNT", "+COUNT", "BYTES", "+BYTES");
	for (size_t i = 0; i < n; i++) {
		const struct pc_type_count *t = &d->types[i];
		char b[32];
		pc_human_bytes(b, sizeof(b), (double)t->bytes);
		human_delta(db, sizeof(db), t->bytes_delta);
		cell(f, t->name, w);
		fprintf(f, " %12" PRIu64 " %+10" PRId64 " %12s %12s\n", t->count, t->count_delta, b, db);
	}
	if (n < d->ntypes)
		fprintf(f, "... %zu more types\n", d->ntypes - n);
	for (int i = 0; i < d->nwarnings; i++) {
		fputs("warning: ", f);
		tputs(d->warnings[i], f);
		fputc('\n', f);
	}
	return ferror(f) ? -1 : 0;
}

int pc_output_diff(FILE *f, const struct pc_diff *d, const struct pc_output_opts *o)
{
	if (o->format == PC_FORMAT_TABLE)
		return diff_table(f, d, o);
	json_object *root = json_object_new_object();
	json_object_object_add(root, "pycensus", json_object_new_int(1));
	json_object_object_add(root, "from", diff_side_json(&d->from));
	json_object_object_add(root, "to", diff_side_json(&d->to));
	json_object *tot = json_object_new_object();
	json_object_object_add(tot, "count_delta", json_object_new_int64(
		(int64_t)d->to.c->total_objects - (int64_t)d->from.c->total_objects));
	json_object_object_add(tot, "bytes_delta", json_object_new_int64(
		(int64_t)d->to.c->total_bytes - (int64_t)d->from.c->total_bytes));
	json_object_object_add(root, "totals", tot);
	json_object *types = json_object_new_array();
	size_t n = shown(d->ntypes, o);
	for (size_t i = 0; i < n; i++) {
		const struct pc_type_count *t = &d->types[i];
		json_object *e = json_object_new_object();
		json_object_object_add(e, "type", jstr(t->name));
		json_object_object_add(e, "count", J_U64(t->count));
		json_object_object_add(e, "bytes", J_U64(t->bytes));
		json_object_object_add(e, "count_delta", json_object_new_int64(t->count_delta));
		json_object_object_add(e, "bytes_delta", json_object_new_int64(t->bytes_delta));
		json_object_array_add(types, e);
	}
	json_object_object_add(root, "types", types);
	if (d->nwarnings) {
		json_object *w = json_object_new_array();
		for (int i = 0; i < d->nwarnings; i++)
			json_object_array_add(w, jstr(d->warnings[i]));
		json_object_object_add(root, "warnings", w);
	}
	return print_json(f, root, o->pretty);
}

static json_object *hex(uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return jstr(buf);
}

int pc_output_info(FILE *f, const struct pc_session *s, const struct pc_info *info)
{
	const struct pc_target *t = &s->target;
	json_object *root = json_object_new_object();
	json_object_object_add(root, "pycensus", json_object_new_int(1));
	json_object_object_add(root, "pid", json_object_new_int(s->pid));
	json_object *py = json_object_new_object();
	json_object_object_add(py, "version", jstr(info->version));
	json_object_object_add(py, "binary", jstr(t->module_path ? t->module_path : ""));
	json_object_object_add(py, "build_id", jstr(t->build_id));
	json_object_object_add(py, "offsets", jstr(s->layout->offsets));
	if (s->layout->table_from)
		json_object_object_add(py, "offsets_table", jstr(s->layout->table_from));
	json_object_object_add(py, "debuginfo", jstr(t->debug_path ? t->debug_path : ""));
	json_object_object_add(root, "python", py);
	json_object_object_add(root, "runtime", hex(t->runtime));
	json_object_object_add(root, "load_bias", hex(t->bias));
	json_object *in = json_object_new_array();
	for (int i = 0; i < info->ninterps; i++)
		json_object_array_add(in, hex(info->interps[i]));
	json_object_object_add(root, "interpreters", in);
	json_object_object_add(root, "threads", json_object_new_int(info->threads));

	const struct pc_layout *L = s->layout;
	json_object *lay = json_object_new_object();
	static const char *const where[] = { "runtime", "interpreter", "static" };
	json_object *lists = json_object_new_array();
	for (int i = 0; i < L->gc.n; i++) {
		const struct pc_gc_list *l = &L->gc.list[i];
		json_object *e = json_object_new_object();
		json_object_object_add(e, "list", jstr(l->name));
		json_object_object_add(e, "in", jstr(l->at.base == PC_GC_STATIC ? L->gc.symbols[l->at.symbol]
										   : where[l->at.base]));
		json_object_object_add(e, "offset", json_object_new_int64(l->at.off));
		json_object_object_add(e, "permanent", json_object_new_boolean(l->permanent));
		json_object_array_add(lists, e);
	}
	json_object_object_add(lay, "gc_lists", lists);
	json_object_object_add(lay, "generations", json_object_new_int64(L->gc.ngenerations));
	json_object_object_add(lay, "sizeof_PyGC_Head", json_object_new_int64(L->gc_head_size));
	json_object_object_add(lay, "sizeof_PyTypeObject", json_object_new_int64(L->type_size));
	json_object_object_add(lay, "sizeof_PyHeapTypeObject", json_object_new_int64(L->heaptype_size));
	json_object_object_add(lay, "preheader", json_object_new_boolean(L->has_preheader));
	/* Every fact with its provenance: read back, this is a table source. */
	json_object *facts = json_object_new_array();
	for (int i = 0; i < L->nfacts; i++) {
		const struct pc_fact *x = &L->facts[i];
		if (x->state == PC_FACT_UNKNOWN)
			continue;
		json_object *e = json_object_new_object();
		json_object_object_add(e, "fact", jstr(x->key));
		json_object_object_add(e, "value", x->state == PC_FACT_VALUE ? json_object_new_int64(x->value) : NULL);
		json_object_object_add(e, "from", jstr(L->sources[x->source]));
		json_object_array_add(facts, e);
	}
	json_object_object_add(lay, "facts", facts);
	json_object_object_add(root, "layout", lay);
	return print_json(f, root, true);
}
