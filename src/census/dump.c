#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "error.h"
#include "heapsnapshot.h"
#include "referents.h"
#include "sizeof.h"
#include "text.h"
#include "types.h"

/* Object ids: odd, from FIRST_ID up, so that the synthetic nodes' small
 * odd ids (V8 numbers its root 1) never meet an object's. */
#define FIRST_ID 65537u

/* A synthetic group under the root: its name and how many root objects
 * hang from it. */
struct group {
	char *name;
	uint32_t count, at;
};

struct dumper {
	struct pc_dump *d;
	struct pc_why *w;
	const struct pc_why_graph *g;
	struct pc_hs *hs;
	uint32_t *map;        /* gc scope: node -> dump node, UINT32_MAX dropped; NULL: i + base */
	uint32_t base;        /* dump node of graph node 0 */
	struct group *groups;
	uint32_t ngroups;
	uint32_t *rgroup;     /* root label -> group */
	uint32_t orphans;     /* the group of --scope gc's orphans, UINT32_MAX: none */
	uint32_t *members;    /* the root objects, by group */
	uint32_t *ids;        /* open addressing over the ids given, 0 empty */
	size_t nids;
	/* the node being written: its next stored edge, the end of them */
	uint32_t at, end;
	uint32_t set_items;
	bool oom;
};

static uint32_t node_of(const struct dumper *x, uint32_t i)
{
	return x->map ? x->map[i] : x->base + i;
}

/* The group a root label belongs to, and the edge's name from it. */
static const char *group_of(const char *label, char *group, size_t cap)
{
	char t[32];
	int n = 0;
	if (!strncmp(label, "module ", 7)) {
		snprintf(group, cap, "(modules)");
		return label + 7;
	}
	/* "thread ID ...": ID as why names it (threading.get_ident(), else #N) */
	if (sscanf(label, "thread %31s %n", t, &n) == 1 && n > 0) {
		snprintf(group, cap, "(thread %s)", t);
		return label + n;
	}
	if (!strcmp(label, "unrooted")) {
		snprintf(group, cap, "(unrooted: on the GC lists, no root reaches)");
		return label;
	}
	snprintf(group, cap, "(interpreter state)");
	return label;
}

/* --scope gc: the kept objects no chain of kept objects leads to from a
 * root (held only through objects outside the scope, such as an untracked
 * tuple or a code object): marked in ORPHAN, so that a group can hold them
 * (DevTools leaves unreachable nodes out of its views).  Their count. */
static size_t mark_orphans(struct dumper *x, uint8_t *orphan)
{
	const struct pc_why_graph *g = x->g;
	uint32_t *queue = malloc((g->n ? g->n : 1) * sizeof(*queue));
	if (!queue)
		return SIZE_MAX;
	size_t head = 0, tail = 0, n = 0;
	for (size_t i = 0; i < g->n; i++) {
		bool kept = node_of(x, (uint32_t)i) != UINT32_MAX;
		orphan[i] = kept;
		if (kept && g->parent[i] >= PC_WHY_ROOT) {
			orphan[i] = 0;
			queue[tail++] = (uint32_t)i;
		}
	}
	while (head < tail) {
		uint32_t v = queue[head++];
		for (uint32_t e = g->eoff[v]; e < g->eoff[v + 1]; e++)
			if (orphan[g->edges[e]]) {
				orphan[g->edges[e]] = 0;
				queue[tail++] = g->edges[e];
			}
	}
	free(queue);
	for (size_t i = 0; i < g->n; i++)
		n += orphan[i];
	return n;
}

static bool make_groups(struct dumper *x)
{
	const struct pc_why_graph *g = x->g;
	x->rgroup = calloc(g->nroots ? g->nroots : 1, sizeof(*x->rgroup));
	x->groups = calloc(g->nroots + 1, sizeof(*x->groups));
	if (!x->rgroup || !x->groups)
		return false;
	for (size_t r = 0; r < g->nroots; r++) {
		char name[64];
		group_of(g->roots[r] ? g->roots[r] : "?", name, sizeof(name));
		uint32_t k;
		for (k = 0; k < x->ngroups && strcmp(x->groups[k].name, name); k++)
			;
		if (k == x->ngroups) {
			x->groups[k].name = strdup(name);
			if (!x->groups[k].name)
				return false;
			x->ngroups++;
		}
		x->rgroup[r] = k;
	}
	uint8_t *orphan = NULL;
	size_t norphans = 0;
	uint32_t ko = UINT32_MAX;
	if (x->map) {
		orphan = malloc(g->n ? g->n : 1);
		if (!orphan || (norphans = mark_orphans(x, orphan)) == SIZE_MAX) {
			free(orphan);
			return false;
		}
		if (norphans) {
			ko = x->ngroups++;
			x->orphans = ko;
			x->groups[ko].name = strdup("(gc scope: held through objects outside it)");
			x->groups[ko].count = (uint32_t)norphans;
			if (!x->groups[ko].name) {
				free(orphan);
				return false;
			}
		}
	}
	size_t nmembers = norphans;
	for (size_t i = 0; i < g->n; i++)
		if (g->parent[i] >= PC_WHY_ROOT && node_of(x, (uint32_t)i) != UINT32_MAX) {
			x->groups[x->rgroup[g->parent[i] - PC_WHY_ROOT]].count++;
			nmembers++;
		}
	x->members = malloc((nmembers ? nmembers : 1) * sizeof(*x->members));
	uint32_t *fill = calloc(x->ngroups ? x->ngroups : 1, sizeof(*fill));
	if (!x->members || !fill) {
		free(fill);
		free(orphan);
		return false;
	}
	uint32_t at = 0;
	for (uint32_t k = 0; k < x->ngroups; k++) {
		x->groups[k].at = at;
		at += x->groups[k].count;
	}
	for (size_t i = 0; i < g->n; i++) {
		if (g->parent[i] >= PC_WHY_ROOT && node_of(x, (uint32_t)i) != UINT32_MAX) {
			uint32_t k = x->rgroup[g->parent[i] - PC_WHY_ROOT];
			x->members[x->groups[k].at + fill[k]++] = (uint32_t)i;
		}
		if (orphan && orphan[i])
			x->members[x->groups[ko].at + fill[ko]++] = (uint32_t)i;
	}
	free(fill);
	free(orphan);
	return true;
}

/* What a weakref object refers to: wr_object, the first member after
 * the object header in every version; 0 for others or a dead one. */
static uint32_t weak_target(struct dumper *x, uint64_t addr, const struct pc_type *t)
{
	uint64_t v;
	if (t->kind != PK_WEAKREF || !pc_u64(x->g->py, addr + (uint64_t)x->g->py->L->object_size, &v))
		return UINT32_MAX;
	uint32_t to = pc_why_node(x->w, v);
	return to == UINT32_MAX ? UINT32_MAX : node_of(x, to);
}

static uint32_t edge_count(struct dumper *x, uint32_t i, const struct pc_type *t)
{
	const struct pc_why_graph *g = x->g;
	uint32_t n = 0;
	if (x->map) {
		for (uint32_t e = g->eoff[i]; e < g->eoff[i + 1]; e++)
			n += x->map[g->edges[e]] != UINT32_MAX;
	} else {
		n = g->eoff[i + 1] - g->eoff[i];
	}
	return n + (t && weak_target(x, pc_why_addr(x->w, i), t) != UINT32_MAX);
}

/* (L's str model: where str is the bytes kind, 2.7, it is text still) */
static enum pc_hs_node_type node_type(const struct pc_layout *L, const struct pc_type *t)
{
	switch (t->kind) {
	case PK_STR:
		return HS_STRING;
	case PK_INT: case PK_BOOL: case PK_FLOAT: case PK_COMPLEX: case PK_FIXEDINT:
		return HS_NUMBER;
	case PK_CODE:
		return HS_CODE;
	case PK_FUNCTION: case PK_METHOD: case PK_CFUNCTION:
		return HS_CLOSURE;
	case PK_BYTES:
		return L->str_model == PC_STR_BYTES_UNICODE ? HS_STRING : HS_NATIVE;
	case PK_BYTEARRAY:
		return HS_NATIVE;
	default:
		return !strcmp(t->name, "re.Pattern") ? HS_REGEXP : HS_OBJECT;
	}
}

static uint64_t mix(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdull;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ull;
	return v ^ (v >> 33);
}

/* An id from the object's address and type, the same in every dump
 * while the object lives; a collision takes the next free odd id. */
static uint32_t object_id(struct dumper *x, uint64_t addr, uint64_t type)
{
	const uint32_t span = (UINT32_MAX - FIRST_ID) / 2;
	uint32_t id = FIRST_ID + 2 * (uint32_t)(mix(addr ^ mix(type)) % span);
	size_t mask = x->nids - 1;
	for (;;) {
		size_t k = mix(id) & mask;
		for (; x->ids[k] && x->ids[k] != id; k = (k + 1) & mask)
			;
		if (!x->ids[k]) {
			x->ids[k] = id;
			return id;
		}
		x->d->collisions++;
		id = id + 2 < id || id + 2 < FIRST_ID ? FIRST_ID : id + 2;
	}
}

/* The name of a node: its type's, or with --with-values a str's text. */
static void node_name(struct dumper *x, uint64_t addr, const struct pc_type *t, char **buf, const char **name)
{
	*name = t->name;
	bool text = t->kind == PK_STR ||
		    (t->kind == PK_BYTES && x->g->py->L->str_model == PC_STR_BYTES_UNICODE);
	if (!text || !x->d->with_values)
		return;
	size_t cap = x->d->with_values * 4 + 1;
	char *s = malloc(cap);
	if (!s)
		return;
	long len = pc_str_read(x->g->py, addr, s, cap);
	if (len < 0) {
		free(s);
		return;
	}
	size_t cols;
	size_t n = pc_text_prefix(s, x->d->with_values, &cols);
	*buf = pc_text_escape(s, n);
	free(s);
	if (*buf)
		*name = *buf;
}

/* One labelled reference of the node being written, written at once:
 * the rule reports references in the order the walk stored them. */
static void emit(void *arg, uint64_t ref, bool hidden, const struct pc_edge_label *l)
{
	(void)hidden;
	struct dumper *x = arg;
	const struct pc_why_graph *g = x->g;
	if (x->at >= x->end)
		return;
	/* the stored edge is this reference unless the walk skipped it (not
	 * an object): only then is the address looked up */
	uint32_t stored = g->edges[x->at], to = stored;
	if (pc_why_addr(x->w, stored) != ref && (to = pc_why_node(x->w, ref)) == UINT32_MAX)
		return;
	x->at++;
	uint32_t dnode = node_of(x, stored);
	if (dnode == UINT32_MAX)
		return;
	if (stored != to) {  /* not the walk's order: the target, unnamed */
		pc_hs_edge(x->hs, HS_INTERNAL, "?", 0, dnode);
		return;
	}
	if (l->kind == PC_EDGE_INDEX) {
		pc_hs_edge(x->hs, HS_ELEMENT, NULL, l->i >= 0 && l->i <= UINT32_MAX ? (uint32_t)l->i : 0, dnode);
		return;
	}
	if (l->kind == PC_EDGE_OPAQUE) {    /* a word a conservative scan took */
		pc_hs_edge(x->hs, HS_INTERNAL, "(opaque)", 0, dnode);
		return;
	}
	if (l->kind == PC_EDGE_SET) {
		pc_hs_edge(x->hs, HS_ELEMENT, NULL, x->set_items++, dnode);
		return;
	}
	char *s = pc_why_label(x->w, l);
	if (!s) {
		x->oom = true;
		pc_hs_edge(x->hs, HS_INTERNAL, "?", 0, dnode);
		return;
	}
	size_t n = strlen(s);
	enum pc_hs_edge_type type = HS_INTERNAL;
	switch (l->kind) {
	case PC_EDGE_ATTR: case PC_EDGE_SLOT: case PC_EDGE_DICT:
		type = HS_PROPERTY;
		break;
	case PC_EDGE_DICT_VALUE:
		type = HS_PROPERTY;
		/* ['key'] names the value by its key; [<int>] stays */
		if (n >= 4 && !strncmp(s, "['", 2) && !strcmp(s + n - 2, "']")) {
			memmove(s, s + 2, n - 4);
			s[n - 4] = 0;
		}
		break;
	default:
		break;
	}
	pc_hs_edge(x->hs, type, s[0] == '.' ? s + 1 : s, 0, dnode);
	free(s);
}

static void write_edges(struct dumper *x, uint32_t i, struct pc_type *t)
{
	const struct pc_why_graph *g = x->g;
	x->at = g->eoff[i];
	x->end = g->eoff[i + 1];
	x->set_items = 0;
	if (t)
		pc_referents_labelled(g->py, g->R, pc_why_addr(x->w, i), t, emit, x);
	/* the rest: words of an opaque object that point at objects */
	for (; x->at < x->end; x->at++) {
		uint32_t to = node_of(x, g->edges[x->at]);
		if (to != UINT32_MAX)
			pc_hs_edge(x->hs, HS_INTERNAL, "(opaque)", 0, to);
	}
	uint32_t wt = t ? weak_target(x, pc_why_addr(x->w, i), t) : UINT32_MAX;
	if (wt != UINT32_MAX)
		pc_hs_edge(x->hs, HS_WEAK, "(referent)", 0, wt);
}

static struct pc_error *write_all(struct dumper *x)
{
	const struct pc_why_graph *g = x->g;
	struct pc_py *py = g->py;
	uint32_t nobj = 0;
	if (x->d->scope == PC_SCOPE_GC) {
		x->map = malloc((g->n ? g->n : 1) * sizeof(*x->map));
		if (!x->map)
			return pc_error_nomem();
	}
	/* objects are numbered after the root and the groups: the map holds
	 * their rank, the base is added once the groups are known */
	for (size_t i = 0; i < g->n; i++) {
		if (x->map)
			x->map[i] = pc_why_sorted_has(g->gc, g->ngc, pc_why_addr(x->w, i)) ? nobj++ : UINT32_MAX;
		else
			nobj++;
	}
	if (!make_groups(x))
		return pc_error_nomem();
	x->base = 1 + x->ngroups;
	if (x->map)
		for (size_t i = 0; i < g->n; i++)
			if (x->map[i] != UINT32_MAX)
				x->map[i] += x->base;
	/* The modules are also the root's own children, by shortcut edges as
	 * V8 links the global objects: DevTools measures distances from the
	 * root's non-synthetic children (its "user roots"). */
	uint32_t km = UINT32_MAX, nshort = 0;
	for (uint32_t k = 0; k < x->ngroups; k++)
		if (!strcmp(x->groups[k].name, "(modules)"))
			km = k;
	if (km != UINT32_MAX)
		nshort = x->groups[km].count;
	uint64_t nodes = (uint64_t)x->base + nobj, edges = (uint64_t)x->ngroups + nshort;
	for (uint32_t k = 0; k < x->ngroups; k++)
		edges += x->groups[k].count;
	for (uint32_t i = 0; i < g->n; i++)
		if (node_of(x, i) != UINT32_MAX)
			edges += edge_count(x, i, pc_type_of(py, pc_why_addr(x->w, i)));
	if (nodes * PC_HS_NODE_FIELDS > UINT32_MAX || edges > UINT32_MAX)
		return pc_error_new(PC_EXIT_FAILED, "%llu objects and %llu references do not fit a heap snapshot "
				    "(its indices are 32-bit)", (unsigned long long)nodes, (unsigned long long)edges);
	for (x->nids = 1024; x->nids < 2 * nodes; x->nids *= 2)
		;
	x->ids = calloc(x->nids, sizeof(*x->ids));
	if (!x->ids)
		return pc_error_nomem();
	x->hs = pc_hs_begin(x->d->out, (uint32_t)nodes, (uint32_t)edges);
	if (!x->hs)
		return pc_error_nomem();

	/* nodes: the root, the groups, the objects */
	pc_hs_node(x->hs, HS_SYNTHETIC, "", 1, 0, x->ngroups + nshort);
	for (uint32_t k = 0; k < x->ngroups; k++)
		pc_hs_node(x->hs, HS_SYNTHETIC, x->groups[k].name, 3 + 2 * k, 0, x->groups[k].count);
	for (uint32_t i = 0; i < g->n; i++) {
		if (node_of(x, i) == UINT32_MAX)
			continue;
		struct pc_type *t = pc_type_of(py, pc_why_addr(x->w, i));
		uint64_t size = 0;
		char *buf = NULL;
		const char *name = "?";
		enum pc_hs_node_type type = HS_HIDDEN;
		if (t) {
			pc_sizeof(py, pc_why_addr(x->w, i), t, &size);
			node_name(x, pc_why_addr(x->w, i), t, &buf, &name);
			type = node_type(py->L, t);
		}
		pc_hs_node(x->hs, type, name, object_id(x, pc_why_addr(x->w, i), t ? t->addr : 0), size, edge_count(x, i, t));
		free(buf);
		x->d->bytes += size;
	}
	/* edges, in the same order */
	for (uint32_t k = 0; k < x->ngroups; k++)
		pc_hs_edge(x->hs, HS_ELEMENT, NULL, k, 1 + k);
	for (uint32_t m = 0; m < nshort; m++) {
		uint32_t i = x->members[x->groups[km].at + m];
		const char *label = g->roots[g->parent[i] - PC_WHY_ROOT];
		char gname[64];
		pc_hs_edge(x->hs, HS_SHORTCUT, group_of(label ? label : "?", gname, sizeof(gname)), 0, node_of(x, i));
	}
	for (uint32_t k = 0; k < x->ngroups; k++)
		for (uint32_t m = 0; m < x->groups[k].count; m++) {
			uint32_t i = x->members[x->groups[k].at + m];
			if (k == x->orphans || g->parent[i] < PC_WHY_ROOT) {
				pc_hs_edge(x->hs, HS_ELEMENT, NULL, m, node_of(x, i));
				continue;
			}
			const char *label = g->roots[g->parent[i] - PC_WHY_ROOT];
			char gname[64];
			const char *ename = group_of(label ? label : "?", gname, sizeof(gname));
			/* the unrooted are many and unnamed: numbered */
			if (label && !strcmp(label, "unrooted"))
				pc_hs_edge(x->hs, HS_ELEMENT, NULL, m, node_of(x, i));
			else
				pc_hs_edge(x->hs, HS_PROPERTY, ename, 0, node_of(x, i));
		}
	for (uint32_t i = 0; i < g->n && !x->oom; i++)
		if (node_of(x, i) != UINT32_MAX)
			write_edges(x, i, pc_type_of(py, pc_why_addr(x->w, i)));
	x->d->nodes = nodes;
	x->d->edges = edges;
	struct pc_hs *hs = x->hs;
	x->hs = NULL;
	bool ok = pc_hs_end(hs);
	if (x->oom || (!ok && errno == ENOMEM))
		return pc_error_nomem();
	if (!ok) {
		x->d->write_errno = errno ? errno : EIO;
		return pc_error_new(PC_EXIT_FAILED, "cannot write %s: %s", x->d->out_name, strerror(errno));
	}
	return NULL;
}

struct pc_error *pc_dump_graph(void *arg, struct pc_why *w, const struct pc_why_graph *g)
{
	struct dumper x = { .d = arg, .w = w, .g = g, .orphans = UINT32_MAX };
	struct pc_error *err = write_all(&x);
	if (x.hs)
		pc_hs_end(x.hs);
	for (uint32_t k = 0; k < x.ngroups; k++)
		free(x.groups[k].name);
	free(x.groups);
	free(x.rgroup);
	free(x.members);
	free(x.map);
	free(x.ids);
	return err;
}
