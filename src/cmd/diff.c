/* `pycensus diff OLD NEW`: growth per type between two censuses read from
 * files (a `snapshot` document or one line of `watch`).  Input is checked
 * closely: a diff of the wrong files is worse than an error, so anything
 * unexpected is one clear line and PC_EXIT_INPUT. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "growth.h"
#include "output.h"
#include "text.h"

#define MAX_INPUT (1u << 30)   /* a census of a million types is ~100 MB */

struct input {
	const char *path;
	struct pc_census c;
	long seq;
	uint64_t listed_types;   /* totals.types as recorded: more than listed after --top */
};

static struct pc_error *bad(const struct input *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static struct pc_error *bad(const struct input *in, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pc_error_new(PC_EXIT_INPUT, "%s: %s", in->path, msg);
}

static struct pc_error *slurp(const struct input *in, char **out, size_t *len)
{
	FILE *f = fopen(in->path, "re");
	if (!f)
		return bad(in, "cannot read: %s", strerror(errno));
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	struct pc_error *err = NULL;
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		if (cap >= MAX_INPUT) {
			err = bad(in, "larger than %u MiB: not a census", MAX_INPUT >> 20);
			break;
		}
		char *b = realloc(buf, cap * 2);
		if (!b) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = b;
		cap *= 2;
	}
	if (!buf && !err)
		err = pc_error_nomem();
	if (!err && ferror(f))
		err = bad(in, "cannot read: %s", strerror(errno));
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	buf[n < cap ? n : cap - 1] = 0;
	*out = buf;
	*len = n;
	return NULL;
}

static int line_of(const char *buf, size_t off)
{
	int line = 1;
	for (size_t i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

static struct pc_error *parse_json(const struct input *in, const char *buf, size_t len, json_object **out)
{
	size_t start = strspn(buf, " \t\r\n");
	if (start == len)
		return bad(in, "empty file");
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return pc_error_nomem();
	/* pycensus writes UTF-8 only; anything else was not written by it */
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root) {
		if (jerr == json_tokener_continue || jerr == json_tokener_success)
			return bad(in, "JSON ends too early (truncated?)");
		return bad(in, "line %d: invalid JSON: %s", line_of(buf, end), json_tokener_error_desc(jerr));
	}
	if (buf[end + strspn(buf + end, " \t\r\n")]) {
		json_object_put(root);
		return bad(in, "line %d: more than one JSON value (a watch log? pass a single line of it)",
			   line_of(buf, end + strspn(buf + end, " \t\r\n")));
	}
	*out = root;
	return NULL;
}

static json_object *member(json_object *o, const char *key, json_type type)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static bool get_u64(json_object *o, const char *key, uint64_t *out)
{
	json_object *v = member(o, key, json_type_int);
	if (!v || json_object_get_int64(v) < 0)
		return false;
	*out = json_object_get_uint64(v);
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct pc_type_count *)a)->name, ((const struct pc_type_count *)b)->name);
}

static struct pc_error *read_types(struct input *in, json_object *types)
{
	struct pc_census *c = &in->c;
	size_t n = json_object_array_length(types);
	c->types = calloc(n ? n : 1, sizeof(*c->types));
	if (!c->types)
		return pc_error_nomem();
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(types, i);
		json_object *name = json_object_is_type(e, json_type_object) ? member(e, "type", json_type_string) : NULL;
		struct pc_type_count *t = &c->types[i];
		if (!name || !json_object_get_string_len(name))
			return bad(in, "types[%zu] has no \"type\" name", i);
		/* pycensus writes names escaped (text.h): no control character */
		const char *text = json_object_get_string(name);
		size_t len = (size_t)json_object_get_string_len(name);
		if (strlen(text) != len || !pc_text_printable(text, len))
			return bad(in, "types[%zu]: the \"type\" name holds a control character", i);
		if (!get_u64(e, "count", &t->count) || !get_u64(e, "bytes", &t->bytes))
			return bad(in, "types[%zu] (%s) lacks a non-negative integer \"count\" or \"bytes\"", i,
				   json_object_get_string(name));
		if (!(t->name = strdup(json_object_get_string(name))))
			return pc_error_nomem();
		c->ntypes++;
	}
	/* A type listed twice would make every delta of it wrong. */
	struct pc_type_count *sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted)
		return pc_error_nomem();
	memcpy(sorted, c->types, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), by_name);
	struct pc_error *err = NULL;
	for (size_t i = 1; i < n && !err; i++)
		if (!strcmp(sorted[i].name, sorted[i - 1].name))
			err = bad(in, "type %s is listed twice", sorted[i].name);
	free(sorted);
	return err;
}

static struct pc_error *read_census(struct input *in)
{
	char *buf = NULL;
	size_t len = 0;
	json_object *root = NULL;
	struct pc_error *err = slurp(in, &buf, &len);
	if (err)
		return err;
	err = parse_json(in, buf, len, &root);
	free(buf);
	if (err)
		return err;
	struct pc_census *c = &in->c;
	json_object *v, *types = NULL, *tot;
	int64_t pid = 0;
	if (!json_object_is_type(root, json_type_object)) {
		err = bad(in, "not a pycensus snapshot (a JSON %s, not an object)",
			  json_type_to_name(json_object_get_type(root)));
	} else if ((v = member(root, "event", json_type_string))) {
		err = bad(in, "a watch \"%s\" event line, not a census", json_object_get_string(v));
	} else if (!(v = member(root, "pycensus", json_type_int))) {
		err = bad(in, "not a pycensus snapshot (no \"pycensus\" version key)");
	} else if (json_object_get_int64(v) != 1) {
		err = bad(in, "census format version %lld; this pycensus reads version 1",
			  (long long)json_object_get_int64(v));
	} else if (!(v = member(root, "pid", json_type_int)) || (pid = json_object_get_int64(v)) <= 0 ||
		   pid > INT32_MAX) {
		err = bad(in, "no valid \"pid\"");
	} else if (!(types = member(root, "types", json_type_array))) {
		err = bad(in, "no \"types\" array");
	}
	if (!err) {
		c->pid = (pid_t)pid;
		if ((v = member(root, "time", json_type_string)))
			snprintf(c->time, sizeof(c->time), "%s", json_object_get_string(v));
		if ((v = member(root, "seq", json_type_int)))
			in->seq = (long)json_object_get_int64(v);
		json_object *py = member(root, "python", json_type_object);
		if (py && (v = member(py, "version", json_type_string)))
			snprintf(c->version, sizeof(c->version), "%s", json_object_get_string(v));
		c->complete = !(v = member(root, "complete", json_type_boolean)) || json_object_get_boolean(v);
		const char *scope = (v = member(root, "scope", json_type_string)) ? json_object_get_string(v) : "";
		if (!strcmp(scope, "gc"))
			c->scope = PC_SCOPE_GC;
		else if (!strcmp(scope, "reachable"))
			c->scope = PC_SCOPE_REACHABLE;
		else
			err = bad(in, "no valid \"scope\" (gc or reachable)");
	}
	if (!err)
		err = read_types(in, types);
	if (!err) {
		/* Totals cover every type even when --top cut the list. */
		uint64_t objects = 0, bytes = 0;
		for (size_t i = 0; i < c->ntypes; i++) {
			objects += c->types[i].count;
			bytes += c->types[i].bytes;
		}
		in->listed_types = c->ntypes;
		tot = member(root, "totals", json_type_object);
		if (!tot || !get_u64(tot, "objects", &c->total_objects) || !get_u64(tot, "bytes", &c->total_bytes) ||
		    !get_u64(tot, "types", &in->listed_types)) {
			c->total_objects = objects;
			c->total_bytes = bytes;
			in->listed_types = c->ntypes;
		}
	}
	json_object_put(root);
	return err;
}

struct warnings {
	char *w[8];
	int n;
};

static void warn(struct warnings *ws, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct warnings *ws, const char *fmt, ...)
{
	if (ws->n == 8)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&ws->w[ws->n], fmt, ap) >= 0)
		ws->n++;
	va_end(ap);
}

static struct pc_error *check_pair(const struct input *a, const struct input *b, struct warnings *ws)
{
	if (a->c.scope != b->c.scope)
		return pc_error_new(PC_EXIT_INPUT, "%s counts scope %s and %s scope %s: not comparable", a->path,
				    a->c.scope == PC_SCOPE_GC ? "gc" : "reachable", b->path,
				    b->c.scope == PC_SCOPE_GC ? "gc" : "reachable");
	if (a->c.pid != b->c.pid)
		warn(ws, "different processes: %s is pid %d, %s is pid %d", a->path, (int)a->c.pid, b->path,
		     (int)b->c.pid);
	if (a->c.time[0] && b->c.time[0] && strcmp(a->c.time, b->c.time) > 0)
		warn(ws, "%s (%s) is newer than %s (%s): the deltas run backwards in time", a->path, a->c.time,
		     b->path, b->c.time);
	const struct input *both[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		const struct input *in = both[i];
		if (in->listed_types > in->c.ntypes)
			warn(ws, "%s lists %zu of %llu types (--top): types below the cut count as 0", in->path,
			     in->c.ntypes, (unsigned long long)in->listed_types);
		if (!in->c.complete)
			warn(ws, "%s is marked incomplete", in->path);
	}
	return NULL;
}

static int diff_usage(void)
{
	pc_print("usage: pycensus diff [--format json|table] [--top N] OLD.json NEW.json\n"
	      "\n"
	      "Growth per type between two censuses: each a `pycensus snapshot` document\n"
	      "or a single line of `pycensus watch`.  Prints the types of either, with\n"
	      "count_delta and bytes_delta, largest byte growth first.  Censuses of\n"
	      "different processes are compared with a warning; different scopes are an\n"
	      "error.  Unreadable or malformed input exits with status 7.\n"
	      "\n"
	      "  --format json|table    JSON (default) or an aligned table\n"
	      "  --top N                print only the first N types\n");
	return 0;
}

int pc_cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pc_census_cli cli = { .out = { .pretty = true } };
	int opt;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'h')
			return diff_usage();
		if (opt == '?' || !pc_parse_census_option(opt, optarg, &cli))
			return PC_EXIT_USAGE;
	}
	if (argc - optind != 2)
		return pc_usage_error("diff takes two files: OLD.json NEW.json");

	struct input in[2] = { { .path = argv[optind] }, { .path = argv[optind + 1] } };
	struct warnings ws = { .n = 0 };
	struct pc_type_count *types = NULL;
	size_t ntypes = 0;
	struct pc_error *err = read_census(&in[0]);
	if (!err)
		err = read_census(&in[1]);
	if (!err)
		err = check_pair(&in[0], &in[1], &ws);
	if (!err)
		err = pc_census_compare(&in[0].c, &in[1].c, &types, &ntypes);
	int rc = 0;
	if (err) {
		rc = pc_report(err);
	} else {
		for (int i = 0; i < ws.n; i++)
			fprintf(stderr, "pycensus: warning: %s\n", ws.w[i]);
		struct pc_diff d = {
			.from = { in[0].path, &in[0].c, in[0].seq },
			.to = { in[1].path, &in[1].c, in[1].seq },
			.types = types,
			.ntypes = ntypes,
			.warnings = ws.w,
			.nwarnings = ws.n,
		};
		if (pc_output_diff(stdout, &d, &cli.out) < 0)
			pc_stdout_failed(errno);  /* reported by main() */
	}
	free(types);
	for (int i = 0; i < ws.n; i++)
		free(ws.w[i]);
	pc_census_fini(&in[0].c);
	pc_census_fini(&in[1].c);
	return rc;
}
