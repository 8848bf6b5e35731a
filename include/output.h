/* Everything pycensus prints: snapshot JSON (json-c), the table for people,
 * info JSON.  The only module that includes json-c's headers. */
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
	long seq;          /* watch: round number, 0 for none */
};

int pc_output_census(FILE *f, const struct pc_census *c, const struct pc_output_opts *o);
int pc_output_info(FILE *f, const struct pc_session *s, const struct pc_info *info);

/* Human-readable size: "1.2 MiB". */
void pc_human_bytes(char *buf, size_t len, double bytes);

#endif
