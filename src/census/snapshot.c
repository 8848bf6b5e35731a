#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "attach.h"
#include "memlimit.h"
#include "reach.h"
#include "sizeof.h"
#include "sizeof_buffers.h"
#include "interned.h"
#include "snapshot.h"
#include "types.h"
#include "visited.h"

static uint64_t rss_bytes(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	FILE *f = fopen(path, "re");
	unsigned long long size = 0, rss = 0;
	if (f) {
		if (fscanf(f, "%llu %llu", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* S as a process of build B, loaded at BIAS from the file BINARY (another
 * copy of the build may be the one B was learnt from). */
static struct pc_error *session_init(struct pc_session *s, struct pc_build *b, uint64_t bias, const char *binary)
{
	uint64_t delta = bias - b->target.bias;
	s->build = b;
	s->binary = strdup(binary ? binary : "");
	if (!s->binary)
		return pc_error_nomem();
	s->target = b->target;
	s->target.dwfl = NULL;  /* the build's */
	s->target.module_path = s->binary;
	s->target.pid = s->pid;
	s->target.bias = bias;
	s->target.runtime = b->target.runtime + delta;
	if (s->target.py_version_addr)
		s->target.py_version_addr += delta;
	s->dwarf = b->dwarf;
	s->layout = &b->layout;  /* the build's: one per build, not per process */
	for (int k = 0; k < PK_NKINDS; k++)
		s->kind_type[k] = b->kind_type[k] ? b->kind_type[k] + delta : 0;
	s->set_dummy = b->set_dummy ? b->set_dummy + delta : 0;
	s->kinds_lo = b->kinds_hi ? b->kinds_lo + delta : 0;
	s->kinds_hi = b->kinds_hi ? b->kinds_hi + delta : 0;
	s->lookdict = b->lookdict ? b->lookdict + delta : 0;
	s->interned = b->interned ? b->interned + delta : 0;
	for (int i = 0; i < PC_GC_SYMBOLS; i++)
		s->gc_symbol[i] = b->gc_symbol[i] ? b->gc_symbol[i] + delta : 0;
	snprintf(s->version, sizeof(s->version), "%d.%d", s->target.major, s->target.minor);
	return pc_referents_create(b->rules, delta, &s->referents);
}

/* After discovery (ERR is its result): the build of T, shared if SHARE,
 * or clean up. */
static struct pc_error *session_finish(struct pc_session *s, struct pc_target *t, struct pc_error *err,
				       bool share, uint64_t t0, struct pc_session **out)
{
	struct pc_build *b = NULL;
	uint64_t bias = 0;
	/* The binary by its name, or, for a build read through DWARF, by the
	 * file opened (as the build learnt from this target names it). */
	char *name = NULL, *opened = NULL;
	if (!err && (!(name = strdup(t->module_path ? t->module_path : "")) ||
		     !(opened = strdup(t->elf_path ? t->elf_path : name))))
		err = pc_error_nomem();
	if (!err)
		err = pc_build_get(t, share, &b, &bias, &s->indexed);
	else
		pc_target_fini(t);
	if (!err)
		err = session_init(s, b, bias, b->from_dwarf ? opened : name);
	free(name);
	free(opened);
	if (err) {
		pc_session_close(s);
		return err;
	}
	s->setup_us = pc_now_us() - t0;
	*out = s;
	return NULL;
}

struct pc_error *pc_session_open(pid_t pid, struct pc_session **out)
{
	uint64_t t0 = pc_now_us();
	struct pc_session *s = calloc(1, sizeof(*s));
	if (!s)
		return pc_error_nomem();
	s->pid = pid;
	/* A process of a build already known needs no discovery. */
	uint64_t bias;
	const char *binary;
	struct pc_build *b = pc_build_find(pid, &bias, &binary);
	if (b) {
		struct pc_error *err = session_init(s, b, bias, binary);
		if (err) {
			pc_session_close(s);
			return err;
		}
		s->setup_us = pc_now_us() - t0;
		*out = s;
		return NULL;
	}
	struct pc_target t;
	struct pc_error *err = pc_discover(pid, &t);
	return session_finish(s, &t, err, true, t0, out);
}

struct pc_error *pc_session_open_offline(const char *debugfile, uint64_t bias, int major, int minor,
					 struct pc_session **out)
{
	uint64_t t0 = pc_now_us();
	struct pc_session *s = calloc(1, sizeof(*s));
	if (!s)
		return pc_error_nomem();
	struct pc_target t;
	struct pc_error *err = pc_discover_offline(debugfile, bias, major, minor, &t);
	return session_finish(s, &t, err, false, t0, out);
}

void pc_session_close(struct pc_session *s)
{
	if (!s)
		return;
	pc_referents_destroy(s->referents);
	pc_build_release(s->build);
	free(s->binary);
	free(s);
}

static void py_init(struct pc_py *py, struct pc_session *s, struct pc_mem *mem)
{
	memset(py, 0, sizeof(*py));
	py->mem = mem;
	py->L = s->layout;
	memcpy(py->kind_type, s->kind_type, sizeof(py->kind_type));
	/* the session knows where the pointer to the dummy is; the dummy
	 * itself (2.7: a str on the heap) is this process's */
	py->set_dummy = 0;
	if (s->set_dummy)
		pc_u64(py, s->set_dummy, &py->set_dummy);
	py->lookdict = s->lookdict;
	py->kinds_lo = s->kinds_lo;
	py->kinds_hi = s->kinds_hi;
	memcpy(py->gc_symbol, s->gc_symbol, sizeof(py->gc_symbol));
}

/* The main interpreter and its sys.version, read while stopped. */
static void read_interp(struct pc_session *s, struct pc_py *py)
{
	/* The list runs newest first: only the whole of it says which is main. */
	uint64_t all[PC_MAX_INTERPS];
	int n = pc_interpreters(py, s->target.runtime, all, PC_MAX_INTERPS);
	if (n < 1)
		return;
	py->interp_main = all[0];
	pc_u64(py, py->interp_main + (uint64_t)s->layout->is_sysdict, &py->sysdict);
	char buf[128];
	uint64_t v = pc_dict_get_str(py, py->sysdict, "version");
	if (v && pc_str_read(py, v, buf, sizeof(buf)) > 0) {
		buf[strcspn(buf, " ")] = 0;
		buf[sizeof(s->version) - 1] = 0;
		memcpy(s->version, buf, strlen(buf) + 1);
	}
}

struct census_walk {
	struct pc_py *py;
	struct pc_census *c;
	volatile sig_atomic_t *interrupted;
	uint64_t deadline_us, n;
	bool timed_out;
	bool live;              /* --no-stop: the GC lists change under the walk */
	uint64_t max_bytes;     /* no object is larger than the target's memory */
};

static bool count_object(void *arg, uint64_t obj)
{
	struct census_walk *w = arg;
	if (w->interrupted && *w->interrupted)
		return false;
	if (w->deadline_us && (++w->n & 1023) == 0 && pc_now_us() > w->deadline_us) {
		w->timed_out = true;
		return false;
	}
	struct pc_type *t = pc_type_of(w->py, obj);
	/* Live, a stale link can lead anywhere: only a type the GC tracks
	 * has objects on its lists. */
	if (!t || (w->live && (!(t->flags & PC_TPFLAGS_HAVE_GC) || !pc_alive(w->py, obj)))) {
		w->py->invalid++;
		return true;
	}
	uint64_t size;
	bool sized = pc_sizeof(w->py, obj, t, &size);
	if (size > w->max_bytes) {
		w->py->invalid++;
		return true;
	}
	t->count++;
	w->py->invalid += !sized;
	pc_bytes_add(&t->bytes, size);
	return true;
}

static unsigned env_ms(const char *name)
{
	const char *v = getenv(name);
	return v ? (unsigned)strtoul(v, NULL, 10) : 0;
}

/* Count what MEM shows into PY's type map: the reachable closure or the
 * GC lists. */
static struct pc_error *census_walk(struct pc_session *s, struct pc_py *py, const struct pc_snapshot_opts *opts,
				    struct pc_census *c, uint64_t deadline, bool *timed_out)
{
	if (opts->scope == PC_SCOPE_GC) {
		struct census_walk w = { py, c, opts->interrupted, deadline, 0, false, opts->no_stop,
					 pc_mem_writable_bytes(py->mem) };
		pc_gc_walk(py, s->target.runtime, count_object, &w, &c->gc, opts->no_stop);
		*timed_out = w.timed_out;
		if (!opts->no_stop || !c->gc.gaps || w.timed_out)
			return NULL;
		/* Live, a list that changed under the walk loses what lies
		 * past a stale link (up to 90% of a busy heap).  Count again
		 * by following references from what was found, counting the
		 * objects the GC tracks: slower, but within a few %. */
		size_t cur = 0;
		struct pc_type *t;
		while ((t = pc_typemap_next(py->types, &cur)))
			t->count = t->bytes = 0;
		py->invalid = 0;
	}
	/* 2.7, 3.6-3.11 keep the interned dict in a static variable: its symbol,
	 * else (strip --strip-all) the one such dict in the module's data. */
	if (!s->interned && s->layout->interned_model == PC_INTERNED_STATIC && opts->scope == PC_SCOPE_REACHABLE)
		s->interned = pc_find_interned(py, s->target.runtime);
	struct pc_reach_roots roots = { s->target.runtime, s->interned };
	struct pc_reach_stats rs;
	struct pc_reach_limits lim = { opts->no_stop, deadline, opts->interrupted, opts->scope == PC_SCOPE_GC };
	struct pc_error *err = pc_reach(py, s->referents, &roots, &c->gc, &rs, &lim);
	*timed_out = rs.timed_out;
	py->invalid += rs.damaged;
	if (opts->scope == PC_SCOPE_GC) {
		c->gc.recounted = true;
		return err;
	}
	c->reachable_stats = true;
	c->skipped = rs.skipped;
	c->hidden_objects = rs.hidden_objects;
	c->hidden_bytes = rs.hidden_bytes;
	return err;
}

struct pc_error *pc_census_image(struct pc_session *s, struct pc_mem *mem, enum pc_scope scope,
				 struct pc_census *c)
{
	struct pc_snapshot_opts opts = { .scope = scope };
	return pc_census_image_opts(s, mem, &opts, c);
}

struct pc_error *pc_census_image_opts(struct pc_session *s, struct pc_mem *mem, const struct pc_snapshot_opts *o,
				      struct pc_census *c)
{
	enum pc_scope scope = o->scope;
	memset(c, 0, sizeof(*c));
	c->scope = scope;
	c->complete = true;
	struct pc_py py;
	py_init(&py, s, mem);
	py.types = pc_typemap_create();
	if (!py.types)
		return pc_error_nomem();
	read_interp(s, &py);
	struct pc_snapshot_opts opts = { .scope = scope };
	bool timed_out = false;
	struct pc_error *err = census_walk(s, &py, &opts, c, 0, &timed_out);
	if (!err) {
		c->invalid = py.invalid;
		if (c->gc.broken)
			c->complete = false;
		if (o->on_copy)
			err = o->on_copy(o->on_copy_arg, s, &py);
		if (!err)
			err = pc_census_collect(c, &py);
	}
	pc_typemap_destroy(py.types);
	if (err)
		pc_census_fini(c);
	return err;
}

/* Stop the target outside a GC collection: a collection in progress keeps
 * objects on lists of its own and refcounts in _gc_prev. */
static struct pc_error *stop_quiescent(struct pc_session *s, struct pc_attach *at,
				       struct pc_mem **mem, bool *collecting)
{
	struct pc_error *err = NULL;
	*collecting = false;
	for (int attempt = 0; attempt < 50; attempt++) {
		err = pc_attach_stop(at, s->pid);
		if (err)
			return err;
		err = *mem ? pc_mem_reset(*mem) : pc_mem_open(s->pid, mem);
		if (err)
			return err;
		struct pc_py py;
		py_init(&py, s, *mem);
		if (!pc_gc_collecting(&py, s->target.runtime))
			return NULL;
		*collecting = true;
		pc_attach_release(at);
		pc_sleep_ms(1 + attempt);
		*collecting = false;
	}
	*collecting = true;
	err = pc_attach_stop(at, s->pid);
	return err ? err : pc_mem_reset(*mem);
}

/* PYCENSUS_TEST_PREPASS_WAIT=DIR, a test hook: once the work before the
 * stop is done, create DIR/prepass and wait (60 s at most) for DIR/go, so
 * that a test can change the target between the pre-pass and the stop. */
static void test_prepass_wait(void)
{
	const char *dir = getenv("PYCENSUS_TEST_PREPASS_WAIT");
	if (!dir)
		return;
	char path[4096];
	snprintf(path, sizeof(path), "%s/prepass", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/go", dir);
	for (int i = 0; i < 60000 && access(path, F_OK) != 0; i++)
		pc_sleep_ms(1);
}

/* How the stop reads: the pages a pre-pass found (HINTED), or every
 * resident writable page (COPY). */
enum read_mode { READ_HINTED, READ_COPY };

/* A heap where the census needs more than 1/DENSE of the resident writable
 * pages is copied whole while stopped: reading those few more pages costs
 * less than finishing a pre-pass walk, which is as long as the census's. */
#define DENSE 8

/* Work done before the target is stopped, so that the pause holds only
 * reads into memory that is already ours.  Faulting a fresh local page
 * costs more than reading a target page into a faulted one (about 2 us
 * against 0.45 us here), so what the stop will read is faulted in now.
 *
 * Which pages the census needs is learnt by walking the running target
 * once, as the census will (its counts are thrown away: the target moves
 * under it, and the walk is as guarded against garbage as any).  That
 * walk reads only what the walkers decode -- object headers, item arrays,
 * dict and set tables, the strs of names -- never a bytes, bytearray or
 * array payload, so a heap of large buffers costs pages in proportion to
 * its objects, not its bytes.  In the reachable scope, a heap where those
 * pages are most of the memory (dense with small objects) is instead
 * copied whole: the pre-pass stops after 1/DENSE of the resident writable
 * pages, if such a copy fits under the memory ceiling. */
static struct pc_error *prepare(struct pc_session *s, const struct pc_snapshot_opts *opts, struct pc_mem **mem,
				enum read_mode *mode)
{
	struct pc_error *err = pc_mem_open(s->pid, mem);
	if (err)
		return err;
	*mode = READ_HINTED;
	if (opts->scope == PC_SCOPE_REACHABLE) {
		uint64_t resident = pc_mem_resident_writable(*mem);
		/* A copy also needs the visited set, 1/64 of what it covers. */
		uint64_t copy = resident * 4096 + resident * 4096 / 64;
		if (copy < pc_memlimit_get() - pc_memlimit_held())
			(*mem)->read_cap = resident / DENSE + 1;
	}
	struct pc_py py;
	py_init(&py, s, *mem);
	py.types = pc_typemap_create();
	if (!py.types)
		return pc_error_nomem();
	struct pc_census scratch;
	memset(&scratch, 0, sizeof(scratch));
	read_interp(s, &py);
	bool timed_out;
	/* Read little past a miss: the pages read become the set read again
	 * while stopped, so it should hold little that is not needed (gc
	 * scope, measured on 3.11: 0, 1, 2, 4 pages -> 30.3k, 30.4k, 35.0k,
	 * 37.9k pages for 250k GC objects, in 30k, 15k, 12k, 8k calls).  The
	 * reachable scope reads none: the page after an object's header is
	 * often the payload of a large buffer. */
	unsigned readahead = (*mem)->readahead;
	(*mem)->readahead = opts->scope == PC_SCOPE_GC ? 1 : 0;
	census_walk(s, &py, opts, &scratch, 0, &timed_out);
	(*mem)->readahead = readahead;
	(*mem)->read_cap = 0;
	pc_typemap_destroy(py.types);
	(*mem)->gone = false;
	if ((*mem)->capped) {
		*mode = READ_COPY;
		pc_mem_prefault(*mem);
	}
	test_prepass_wait();
	return NULL;
}

/* The target while it is stopped, and what happened to it. */
struct stopped {
	struct pc_attach *at;
	struct pc_mem *mem;
	uint64_t pause0;        /* when this stop began */
	uint64_t deadline;      /* --timeout for this stop, 0 for none */
	uint64_t pages0, bytes0;  /* read stats when it began */
	bool collecting;        /* stopped inside a GC collection after all */
	bool timed_out, lost;
	bool live_timed_out;    /* --no-stop: the read ran past its bound */
};

/* Stop the target (outside a collection), starting the clock of this
 * stop and its --timeout. */
static struct pc_error *stop(struct pc_session *s, const struct pc_snapshot_opts *opts, struct stopped *st)
{
	st->pause0 = pc_now_us();
	st->deadline = opts->timeout_ms ? st->pause0 + (uint64_t)opts->timeout_ms * 1000u : 0;
	struct pc_error *err = stop_quiescent(s, st->at, &st->mem, &st->collecting);
	if (st->mem) {
		st->pages0 = st->mem->stats.pages;
		st->bytes0 = st->mem->stats.bytes;
		/* Reads past --timeout fail from here on (see pc_mem_ptr). */
		st->mem->deadline_us = st->deadline;
	}
	return err;
}

/* Let the target go; returns whether it died while it was stopped.  The
 * census's pause is the sum of its stops. */
static bool resume(struct pc_session *s, struct stopped *st, struct pc_census *c)
{
	bool lost = st->mem->gone || !pc_attach_alive(s->pid);
	pc_attach_release(st->at);
	c->pause_us += pc_now_us() - st->pause0;
	c->stops++;
	st->mem->deadline_us = 0;
	st->timed_out |= st->mem->expired;
	st->mem->stats.stop_pages += st->mem->stats.pages - st->pages0;
	st->mem->stats.stop_bytes += st->mem->stats.bytes - st->bytes0;
	return lost;
}

/* Once stopped, with the pages a pre-pass found: read them in a few calls,
 * let the target run, and count on the copy.  If the copy lacks a page the
 * walk wants (the target changed since the pre-pass: new objects on new
 * pages), those pages join the hints, the target is stopped once more and
 * this time the walk runs while it is stopped, reading what else it needs
 * on demand.  Either way every page counted was read in one stop. */
static struct pc_error *hinted_census(struct pc_session *s, const struct pc_snapshot_opts *opts,
				      struct stopped *st, struct pc_py *py, struct pc_census *c)
{
	struct pc_error *err;
	bool unused;
	pc_mem_load_hinted(st->mem, st->deadline);
	pc_mem_freeze(st->mem);
	st->lost = resume(s, st, c);
	if (st->lost)
		return NULL;
	err = census_walk(s, py, opts, c, 0, &unused);
	/* Out of time, of memory or at the ceiling, a second stop would read
	 * no more: the census stays partial, and says why. */
	if (err || st->mem->misses == 0 || (opts->interrupted && *opts->interrupted) ||
	    st->timed_out || st->mem->nomem || pc_memlimit_refusals())
		return err;
	pc_typemap_destroy(py->types);
	py->types = pc_typemap_create();
	if (!py->types)
		return pc_error_nomem();
	py->invalid = 0;
	err = stop(s, opts, st);
	if (err)
		return err;
	pc_mem_load_hinted(st->mem, st->deadline);
	err = census_walk(s, py, opts, c, st->deadline, &st->timed_out);
	if (!err && st->at->ntids)
		st->lost = resume(s, st, c);
	return err;
}

/* After a --no-stop walk: read every type that owns objects again, from a
 * fresh copy of the target's memory, and keep only those that read the
 * same.  A live read can pair a type's page with a page of its name read
 * at another moment: a class being made (no __module__ yet), or freed and
 * its name's memory reused.  Returns the types that failed, whose objects
 * now count as invalid. */
static uint64_t verify_live_types(struct pc_session *s, struct pc_py *py)
{
	struct pc_mem *mem = NULL;
	struct pc_error *err = pc_mem_open(s->pid, &mem);
	if (err) {
		pc_error_destroy(err);
		return 0;
	}
	struct pc_py again;
	py_init(&again, s, mem);
	again.types = pc_typemap_create();
	uint64_t failed = 0;
	if (again.types) {
		read_interp(s, &again);
		size_t cur = 0;
		struct pc_type *t;
		while ((t = pc_typemap_next(py->types, &cur))) {
			/* a static type's name is a string literal: only heap
			 * types change */
			if (!t->count || !(t->flags & PC_TPFLAGS_HEAPTYPE))
				continue;
			/* A class being made has no __module__ yet, and a name
			 * from reused memory rarely has a dot.  Such a name is
			 * read from pages read for it alone (forgetting the
			 * pages costs 0.6 ms), lest a page read earlier in this
			 * pass be as stale as the walk's. */
			if (!strchr(t->name, '.')) {
				struct pc_error *e = pc_mem_reset(mem);
				if (e) {
					pc_error_destroy(e);
					break;
				}
				pc_typemap_destroy(again.types);
				again.types = pc_typemap_create();
				if (!again.types)
					break;
			}
			struct pc_type *u = pc_type_get(&again, t->addr);
			if (u && !strcmp(u->name, t->name))
				continue;
			py->invalid += t->count;
			t->count = t->bytes = t->hidden_count = t->hidden_bytes = 0;
			failed++;
		}
	}
	pc_typemap_destroy(again.types);
	pc_mem_close(mem);
	return failed;
}

/* What a --no-stop census says about itself. */
static void live_warnings(struct pc_census *c, const struct pc_snapshot_opts *opts, bool timed_out)
{
	if (timed_out) {
		c->complete = false;
		pc_census_warn(c, "--no-stop: the read was cut after %.3f s (%s); the census is partial",
			       (opts->timeout_ms ? opts->timeout_ms : PC_LIVE_LIMIT_MS) / 1000.0,
			       opts->timeout_ms ? "--timeout" : "the default bound; --timeout changes it");
	}
	if (c->gc.mismatched || c->gc.gaps) {
		c->complete = false;
		pc_census_warn(c, "--no-stop: the GC lists changed while read (%llu links did not point back, "
			       "%llu lists finished from their tail)%s; objects may be missed",
			       (unsigned long long)c->gc.mismatched, (unsigned long long)c->gc.gaps,
			       c->gc.recounted ? "; counted again following references" : "");
	}
	pc_census_warn(c, "read without stopping the target (--no-stop): counts may be inconsistent");
}

static void fmt_size(char *buf, size_t cap, uint64_t n)
{
	if (n >= (1ULL << 30))
		snprintf(buf, cap, "%.1f GiB", (double)n / (1ULL << 30));
	else
		snprintf(buf, cap, "%.1f MiB", (double)n / (1ULL << 20));
}

/* Name every resource that ran out: memory, the ceiling, time. */
static void warn_resources(struct pc_census *c, const struct pc_snapshot_opts *opts, const struct stopped *st)
{
	char lim[32];
	fmt_size(lim, sizeof(lim), pc_memlimit_get());
	if (st->mem->nomem) {
		c->complete = false;
		pc_census_warn(c, "out of memory: pycensus could not allocate what the census needed; "
			       "the census is partial");
	}
	if (pc_memlimit_refusals()) {
		c->complete = false;
		pc_census_warn(c, "memory ceiling (--max-memory %s) reached: %llu pages were not read; "
			       "the census is partial", lim, (unsigned long long)st->mem->stats.refused_pages);
	}
	if (st->timed_out && opts->timeout_ms) {
		c->complete = false;
		pc_census_warn(c, "--timeout: the target was resumed after %u ms; the census is partial",
			       opts->timeout_ms);
	}
}

/* One attempt at a census. */
static struct pc_error *snapshot_once(struct pc_session *s, const struct pc_snapshot_opts *opts,
				      struct pc_census *c)
{
	memset(c, 0, sizeof(*c));
	pc_memlimit_set(opts->max_memory);
	pc_memlimit_mark();
	c->pid = s->pid;
	c->scope = opts->scope;
	c->binary = s->target.module_path;
	c->debuginfo = s->target.debug_path;
	snprintf(c->offsets, sizeof(c->offsets), "%s", s->layout->offsets);
	snprintf(c->offsets_table, sizeof(c->offsets_table), "%s",
		 s->layout->table_from ? s->layout->table_from : "");
	c->complete = true;
	pc_iso_time(c->time, sizeof(c->time));
	uint64_t t0 = pc_now_us();

	struct pc_attach at = {0};
	struct stopped st = { .at = &at };
	struct pc_error *err = NULL;
	enum read_mode mode = READ_HINTED;
	if (opts->no_stop) {
		err = pc_mem_open(s->pid, &st.mem);
	} else {
		err = prepare(s, opts, &st.mem, &mode);
		if (!err && opts->interrupted && *opts->interrupted)
			err = pc_error_new(PC_EXIT_FAILED, "interrupted before the target was stopped");
		if (!err)
			err = stop(s, opts, &st);
	}
	if (err)
		goto out;
	/* the process-wide count of arrays sized without their data, before
	 * this census's walks (the pre-pass's are not its own) */
	uint64_t numpy_unknown = pc_numpy_unknown_dtypes();
	c->threads = opts->no_stop ? pc_thread_count(s->pid) : (int)at.ntids;
	/* A test hook: a census that takes STALL ms while stopped and, like
	 * the walks, notices a signal (also one that came just before). */
	unsigned stall = env_ms("PYCENSUS_TEST_STALL_MS");
	for (unsigned t = 0; t < stall && !(opts->interrupted && *opts->interrupted); t += 10)
		pc_sleep_ms(10);

	struct pc_py py;
	py_init(&py, s, st.mem);
	py.types = pc_typemap_create();
	if (!py.types) {
		err = pc_error_nomem();
		goto out;
	}
	read_interp(s, &py);
	if (opts->no_stop) {
		/* Bounded in time as well as by the target's memory (see
		 * gcwalk.h): a live read has no stop to end it. */
		unsigned limit_ms = opts->timeout_ms ? opts->timeout_ms : PC_LIVE_LIMIT_MS;
		err = census_walk(s, &py, opts, c, pc_now_us() + (uint64_t)limit_ms * 1000u, &st.live_timed_out);
		if (!err && verify_live_types(s, &py))
			pc_census_warn(c, "--no-stop: some types read differently a second time (made or freed "
				       "meanwhile); their objects are counted as invalid");
	} else if (mode == READ_COPY) {
		/* Copy the writable memory and let the target go: the walk, the
		 * sizing and the naming then run on the copy. */
		pc_mem_copy_writable(st.mem, st.deadline);
		st.lost = resume(s, &st, c);
		bool unused;
		if (!st.lost)
			err = census_walk(s, &py, opts, c, 0, &unused);
	} else {
		err = hinted_census(s, opts, &st, &py, c);
	}
	if (st.lost)
		err = pc_error_new(PC_EXIT_FAILED, "process %d exited during the census", (int)s->pid);
	if (err) {
		pc_typemap_destroy(py.types);
		goto out;
	}
	warn_resources(c, opts, &st);
	if (opts->interrupted && *opts->interrupted) {
		c->complete = false;
		pc_census_warn(c, "interrupted by a signal");
	}
	if (st.collecting) {
		c->complete = false;
		pc_census_warn(c, "the target stayed inside a GC collection; counts may be off");
	}
	/* Pages left unread for lack of time or memory make lists look broken
	 * and objects unreadable: that is not damage, and it is said above. */
	bool starved = st.timed_out || st.live_timed_out || st.mem->nomem || pc_memlimit_refusals();
	if (c->gc.broken && !starved) {
		c->complete = false;
		pc_census_warn(c, "%s", c->gc.problem);
	}
	if (py.invalid && !starved) {
		c->complete = false;
		if (opts->no_stop)
			pc_census_warn(c, "%llu objects or their types changed while read (--no-stop); not counted",
				       (unsigned long long)py.invalid);
		else
			pc_census_warn(c, "%llu objects had an unreadable type or inconsistent contents "
				       "(damaged memory?)", (unsigned long long)py.invalid);
	}
	if (opts->no_stop)
		live_warnings(c, opts, st.live_timed_out);
	c->invalid = py.invalid;
	snprintf(c->version, sizeof(c->version), "%s", s->version);
	c->rss_bytes = rss_bytes(s->pid);
	c->read = st.mem->stats;
	c->read.mode = opts->no_stop ? "live" : mode == READ_COPY ? "copy" : "hinted";
	c->read.max_memory = pc_memlimit_get();
	if (opts->on_copy && !opts->no_stop)
		err = opts->on_copy(opts->on_copy_arg, s, &py);
	if (!err)
		err = pc_census_collect(c, &py);
	if (!err && pc_numpy_unknown_dtypes() != numpy_unknown)
		pc_census_warn(c, "numpy arrays whose numpy.dtype layout pycensus does not know (its size "
			       "is neither numpy 1.x's nor 2.x's): their data is left out of their bytes");
	pc_typemap_destroy(py.types);
out:
	/* Also frees what a signal handler's detach left behind. */
	pc_attach_release(&at);
	if (err && err->code == PC_EXIT_NOPROC && st.pause0)
		err->code = PC_EXIT_FAILED;
	pc_mem_close(st.mem);
	c->read.peak_bytes = pc_memlimit_peak();
	c->elapsed_us = pc_now_us() - t0;
	if (err)
		pc_census_fini(c);
	return err;
}

static bool interrupted(const struct pc_snapshot_opts *opts)
{
	return opts->interrupted && *opts->interrupted;
}

/* A suspension of pycensus (Ctrl-Z) lets the target go in the middle of a
 * stop (attach.c): what was read after it came from a running target, so
 * such a census is thrown away and taken again, from the start. */
struct pc_error *pc_snapshot(struct pc_session *s, const struct pc_snapshot_opts *opts,
			     struct pc_census *c)
{
	uint64_t t0 = pc_now_us();
	for (;;) {
		unsigned long broken = pc_attach_broken_stops();
		struct pc_error *err = snapshot_once(s, opts, c);
		if (broken == pc_attach_broken_stops() || interrupted(opts)) {
			if (!err)
				c->elapsed_us = pc_now_us() - t0;
			return err;
		}
		if (err)
			pc_error_destroy(err);
		else
			pc_census_fini(c);
	}
}

struct pc_error *pc_session_info(struct pc_session *s, struct pc_info *info)
{
	struct pc_error *err;
	for (;;) {  /* again if a suspension broke the stop, as in pc_snapshot */
		memset(info, 0, sizeof(*info));
		unsigned long broken = pc_attach_broken_stops();
		struct pc_attach at = {0};
		struct pc_mem *mem = NULL;
		err = pc_attach_stop(&at, s->pid);
		if (!err)
			err = pc_mem_open(s->pid, &mem);
		if (!err) {
			struct pc_py py;
			py_init(&py, s, mem);
			read_interp(s, &py);
			uint64_t all[PC_MAX_INTERPS];
			int n = pc_interpreters(&py, s->target.runtime, all, PC_MAX_INTERPS);
			for (int i = 0; i < n && i < 16; i++)
				info->interps[info->ninterps++] = all[i];
			info->threads = (int)at.ntids;
		}
		pc_attach_release(&at);
		pc_mem_close(mem);
		if (broken == pc_attach_broken_stops())
			break;
		pc_error_destroy(err);
	}
	snprintf(info->version, sizeof(info->version), "%s", s->version);
	return err;
}
