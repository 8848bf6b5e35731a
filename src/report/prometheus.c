/* Prometheus text format, version 0.0.4: all samples of a metric follow its
 * HELP and TYPE lines, so the loops run metric by metric, then process by
 * process. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prometheus.h"

/* Label values escape backslash, double quote and newline; type names are
 * Python identifiers in practice, but a qualname is whatever the program
 * set it to. */
static void put_label(FILE *f, const char *v)
{
	fputc('"', f);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

static void header(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

enum per_type { OBJECTS, BYTES };

static void type_metric(FILE *f, enum per_type what, const struct pc_census *const *cs, size_t n,
			size_t top)
{
	const char *name = what == OBJECTS ? "pycensus_objects" : "pycensus_bytes";
	header(f, name, what == OBJECTS ? "Objects of this type in the process at the latest census."
					: "Bytes (sys.getsizeof) of the objects of this type at the latest census.");
	for (size_t i = 0; i < n; i++) {
		const struct pc_census *c = cs[i];
		size_t k = top && top < c->ntypes ? top : c->ntypes;
		for (size_t j = 0; j < k; j++) {
			fprintf(f, "%s{pid=\"%d\",type=", name, (int)c->pid);
			put_label(f, c->types[j].name);
			fprintf(f, "} %" PRIu64 "\n", what == OBJECTS ? c->types[j].count : c->types[j].bytes);
		}
	}
}

static void write_all(FILE *f, const struct pc_census *const *cs, size_t n, size_t top)
{
	type_metric(f, OBJECTS, cs, n, top);
	type_metric(f, BYTES, cs, n, top);
	header(f, "pycensus_total_objects", "Objects counted at the latest census, all types.");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "pycensus_total_objects{pid=\"%d\"} %" PRIu64 "\n", (int)cs[i]->pid, cs[i]->total_objects);
	header(f, "pycensus_total_bytes", "Bytes counted at the latest census, all types.");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "pycensus_total_bytes{pid=\"%d\"} %" PRIu64 "\n", (int)cs[i]->pid, cs[i]->total_bytes);
	header(f, "pycensus_types", "Distinct types counted at the latest census.");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "pycensus_types{pid=\"%d\"} %zu\n", (int)cs[i]->pid, cs[i]->ntypes);
	header(f, "pycensus_pause_seconds", "How long the latest census stopped the process.");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "pycensus_pause_seconds{pid=\"%d\"} %.6f\n", (int)cs[i]->pid, cs[i]->pause_us / 1e6);
	header(f, "pycensus_complete", "1 if the latest census was complete, 0 if something was skipped.");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "pycensus_complete{pid=\"%d\"} %d\n", (int)cs[i]->pid, cs[i]->complete ? 1 : 0);
}

struct pc_error *pc_prometheus_write(const char *path, const struct pc_census *const *cs, size_t n,
				     size_t top)
{
	/* The temporary name starts with a dot and does not end in .prom, so
	 * the collector ignores it. */
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	size_t len = strlen(path) + 16;
	char *tmp = malloc(len);
	if (!tmp)
		return pc_error_nomem();
	snprintf(tmp, len, "%.*s.%s.XXXXXX", (int)dirlen, path, path + dirlen);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		struct pc_error *err = pc_error_new(PC_EXIT_FAILED, "cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return err;
	}
	/* mkstemp makes it 0600; node_exporter usually runs as another user. */
	fchmod(fd, 0644);
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		free(tmp);
		return pc_error_nomem();
	}
	write_all(f, cs, n, top);
	int bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
	int saved = errno;
	if (fclose(f) != 0 && !bad) {
		bad = 1;
		saved = errno;
	}
	if (!bad && rename(tmp, path) != 0) {
		bad = 1;
		saved = errno;
	}
	struct pc_error *err = NULL;
	if (bad) {
		err = pc_error_new(PC_EXIT_FAILED, "cannot write %s: %s", path, strerror(saved));
		unlink(tmp);
	}
	free(tmp);
	return err;
}
