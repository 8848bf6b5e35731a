/* `pycensus why`'s report: JSON (field names documented in the man page),
 * one chain per shape for people, or Graphviz. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "why.h"

static json_object *jaddr(uint64_t a)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)a);
	return json_object_new_string(buf);
}

static json_object *jpath(const struct pc_why_path *p)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < p->nhops; i++) {
		json_object *h = json_object_new_object();
		json_object_object_add(h, "label", json_object_new_string(p->hops[i].label ? p->hops[i].label : "?"));
		json_object_object_add(h, "type", json_object_new_string(p->hops[i].type ? p->hops[i].type : "?"));
		json_object_object_add(h, "address", jaddr(p->hops[i].addr));
		json_object_array_add(a, h);
	}
	return a;
}

/* The shapes of one type: [{count, root, unrooted, sample, chain, path}]. */
json_object *pc_why_shapes_json(const struct pc_why_type *wt, size_t max)
{
	json_object *shapes = json_object_new_array();
	for (size_t i = 0; i < wt->nshapes && (!max || i < max); i++) {
		const struct pc_why_shape *s = &wt->shapes[i];
		json_object *js = json_object_new_object();
		json_object_object_add(js, "count", json_object_new_int64((int64_t)s->count));
		json_object_object_add(js, "root", json_object_new_string(s->path.root ? s->path.root : "?"));
		json_object_object_add(js, "unrooted", json_object_new_boolean(s->unrooted));
		json_object_object_add(js, "sample", jaddr(s->sample));
		json_object_object_add(js, "chain", json_object_new_string(s->path.chain ? s->path.chain : "?"));
		json_object_object_add(js, "path", jpath(&s->path));
		json_object_array_add(shapes, js);
	}
	return shapes;
}

static int print_json(FILE *f, const struct pc_why_report *r, const struct pc_census *c)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "pid", json_object_new_int(c->pid));
	json_object_object_add(o, "time", json_object_new_string(c->time));
	json_object_object_add(o, "pause_us", json_object_new_int64((int64_t)c->pause_us));
	json_object_object_add(o, "objects", json_object_new_int64((int64_t)r->objects));
	json_object_object_add(o, "rooted_objects", json_object_new_int64((int64_t)r->rooted));
	json_object *types = json_object_new_array();
	for (int k = 0; k < r->ntypes; k++) {
		const struct pc_why_type *wt = &r->types[k];
		json_object *t = json_object_new_object();
		char *esc = pc_text_escape(wt->name, strlen(wt->name));
		json_object_object_add(t, "type", json_object_new_string(esc ? esc : "?"));
		free(esc);
		json_object_object_add(t, "count", json_object_new_int64((int64_t)wt->count));
		json_object_object_add(t, "bytes", json_object_new_int64((int64_t)wt->bytes));
		json_object_object_add(t, "unrooted", json_object_new_int64((int64_t)wt->unrooted));
		if (r->dominated) {
			json_object_object_add(t, "freed_bytes", json_object_new_int64((int64_t)wt->freed_bytes));
			json_object_object_add(t, "freed_objects", json_object_new_int64((int64_t)wt->freed_objects));
		}
		json_object_object_add(t, "shapes", pc_why_shapes_json(wt, r->max_shapes));
		json_object_array_add(types, t);
	}
	json_object_object_add(o, "types", types);
	if (r->dominated) {
		json_object *top = json_object_new_array();
		for (size_t i = 0; i < r->nsuspects; i++) {
			const struct pc_why_suspect *t = &r->suspects[i];
			json_object *js = json_object_new_object();
			json_object_object_add(js, "address", jaddr(t->addr));
			json_object_object_add(js, "type", json_object_new_string(t->type ? t->type : "?"));
			json_object_object_add(js, "retained_bytes", json_object_new_int64((int64_t)t->bytes));
			json_object_object_add(js, "retained_objects", json_object_new_int64((int64_t)t->objects));
			json_object_object_add(js, "root", json_object_new_string(t->path.root ? t->path.root : "?"));
			json_object_object_add(js, "chain", json_object_new_string(t->path.chain ? t->path.chain : "?"));
			json_object_object_add(js, "path", jpath(&t->path));
			json_object *by = json_object_new_array();
			for (int k = 0; k < t->nby; k++) {
				json_object *b = json_object_new_object();
				json_object_object_add(b, "type", json_object_new_string(t->by[k].type ? t->by[k].type : "?"));
				json_object_object_add(b, "count", json_object_new_int64((int64_t)t->by[k].count));
				json_object_object_add(b, "bytes", json_object_new_int64((int64_t)t->by[k].bytes));
				json_object_array_add(by, b);
			}
			json_object_object_add(js, "retains", by);
			json_object_array_add(top, js);
		}
		json_object_object_add(o, "reachable_bytes", json_object_new_int64((int64_t)r->reachable_bytes));
		json_object_object_add(o, "dominators", top);
	}
	int rc = fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								       JSON_C_TO_STRING_NOSLASHESCAPE)) < 0 ? -1 : 0;
	json_object_put(o);
	return rc;
}

static void dot_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* One node per (shape, hop): shapes share no nodes, each is a chain. */
static int print_dot(FILE *f, const struct pc_why_report *r)
{
	fprintf(f, "digraph why {\n  rankdir=LR;\n  node [shape=box];\n");
	for (int k = 0; k < r->ntypes; k++) {
		const struct pc_why_type *wt = &r->types[k];
		for (size_t i = 0; i < wt->nshapes && (!r->max_shapes || i < r->max_shapes); i++) {
			const struct pc_why_shape *s = &wt->shapes[i];
			size_t n = s->path.nhops;
			fprintf(f, "  r%d_%zu [shape=ellipse, label=", k, i);
			dot_quote(f, s->path.root ? s->path.root : "?");
			fprintf(f, "];\n");
			for (size_t h = 0; h < n; h++) {
				const struct pc_why_hop *hop = &s->path.hops[h];
				const char *ty = hop->type ? hop->type : "?";
				fprintf(f, "  n%d_%zu_%zu [label=", k, i, h);
				if (h == n - 1) {
					char *l = NULL;
					if (asprintf(&l, "%s\\n%llu instances", ty, (unsigned long long)s->count) >= 0)
						dot_quote(f, l);
					free(l);
				} else {
					dot_quote(f, ty);
				}
				fprintf(f, "];\n");
				if (h == 0)
					fprintf(f, "  r%d_%zu -> n%d_%zu_0;\n", k, i, k, i);
				else {
					fprintf(f, "  n%d_%zu_%zu -> n%d_%zu_%zu [label=", k, i, h - 1, k, i, h);
					dot_quote(f, hop->label ? hop->label : "?");
					fprintf(f, "];\n");
				}
			}
		}
	}
	return fprintf(f, "}\n") < 0 ? -1 : 0;
}

int pc_why_print(FILE *f, const struct pc_why_report *r, const struct pc_census *c, enum pc_why_format format)
{
	if (format == PC_WHY_JSON)
		return print_json(f, r, c);
	if (format == PC_WHY_DOT)
		return print_dot(f, r);
	for (int k = 0; k < r->ntypes; k++) {
		const struct pc_why_type *wt = &r->types[k];
		char *esc = pc_text_escape(wt->name, strlen(wt->name));
		fprintf(f, "%s: %llu objects, %llu bytes, %llu unrooted\n", esc ? esc : "?",
			(unsigned long long)wt->count, (unsigned long long)wt->bytes,
			(unsigned long long)wt->unrooted);
		free(esc);
		if (r->dominated)
			fprintf(f, "  freeing them all frees %llu bytes in %llu objects\n",
				(unsigned long long)wt->freed_bytes, (unsigned long long)wt->freed_objects);
		for (size_t i = 0; i < wt->nshapes && (!r->max_shapes || i < r->max_shapes); i++)
			fprintf(f, "  %6llu  %s\n", (unsigned long long)wt->shapes[i].count, wt->shapes[i].path.chain);
	}
	if (r->dominated && r->nsuspects) {
		fprintf(f, "largest retained (bytes, objects, path):\n");
		for (size_t i = 0; i < r->nsuspects; i++) {
			const struct pc_why_suspect *t = &r->suspects[i];
			fprintf(f, "  %12llu %9llu  %s\n", (unsigned long long)t->bytes, (unsigned long long)t->objects,
				t->path.chain);
			for (int k = 0; k < t->nby; k++)
				fprintf(f, "  %12llu %9llu    %s\n", (unsigned long long)t->by[k].bytes,
					(unsigned long long)t->by[k].count, t->by[k].type ? t->by[k].type : "?");
		}
	}
	return ferror(f) ? -1 : 0;
}
