#include <stdio.h>
#include <stdlib.h>

#include "error.h"

static struct pc_error nomem = { PC_EXIT_FAILED, "out of memory" };

struct pc_error *pc_error_vnew(enum pc_exit code, const char *fmt, va_list ap)
{
	struct pc_error *err = malloc(sizeof(*err));
	if (!err)
		return &nomem;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return err;
}

struct pc_error *pc_error_new(enum pc_exit code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct pc_error *err = pc_error_vnew(code, fmt, ap);
	va_end(ap);
	return err;
}

struct pc_error *pc_error_nomem(void)
{
	return &nomem;
}

void pc_error_destroy(struct pc_error *err)
{
	if (err && err != &nomem)
		free(err);
}
