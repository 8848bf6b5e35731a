/* Everything pycensus prints: snapshot and watch JSON (json-c), the tables
 * for people, info, watch events and diffs.  With why_output.c (why's
 * report) and diff.c, which parses, the only modules that include json-c's
 * headers. */
#ifndef PC_OUTPUT_H
#define PC_OUTPUT_H

#include <stdio.h>

#include "census.h"
#include "snapshot.h"

enum pc_format { PC_FORMAT_JSON, PC_FORMAT_TABLE };

struct pc_output_opts {
	enum pc_format format;
	size_t top;        /* 0: all types */
	bool pretty;       /* indented JSON (snapshot); watch prints one line */
	long seq;          /* watch: census number of this PID, 0 for none */
	/* watch only */
	long round;        /* schedule slot since the start (1, 2, ...), 0 for none */
	pid_t root;        /* --children: the PID given this one descends from, 0 none */
	bool overrun;      /* the census ended after the next one was due */
	bool has_growing;  /* print "growing" (from the second census on) */
	int growth_rounds;
	const struct pc_suspect *growing;
	size_t ngrowing;
	const struct pc_session *session;  /* print "session": what it shares, or NULL */
};

/* A watch line that is not a census: "exited", "started", "error". */
struct pc_event {
	const char *event;
	pid_t pid;
	pid_t parent, root;  /* 0 when not known or not a --children target */
	long round;
	const char *message; /* what went wrong ("error"), or NULL */
	int code;            /* the exit code the error carries, 0 for none */
};

/* Two censuses compared (diff): FROM and TO as read, TYPES their union. */
struct pc_diff_side {
	const char *file;
	const struct pc_census *c;
	long seq;          /* 0 unless a watch line */
};

struct pc_diff {
	struct pc_diff_side from, to;
	const struct pc_type_count *types;  /* sorted by bytes_delta, largest first */
	size_t ntypes;
	char *const *warnings;
	int nwarnings;
};

int pc_output_census(FILE *f, const struct pc_census *c, const struct pc_output_opts *o);
int pc_output_event(FILE *f, const struct pc_event *e, enum pc_format format);
/* Uses O's format and top. */
int pc_output_diff(FILE *f, const struct pc_diff *d, const struct pc_output_opts *o);
int pc_output_info(FILE *f, const struct pc_session *s, const struct pc_info *info);

/* Human-readable size: "1.2 MiB". */
void pc_human_bytes(char *buf, size_t len, double bytes);

#endif
