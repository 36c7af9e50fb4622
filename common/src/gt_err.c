/* gt_err.c - error names and translations of foreign codes. */
#include <errno.h>
#include <nng/nng.h>

#include "gt/gt_err.h"

static const char *const err_names[GT_E_COUNT] = {
	[GT_OK] = "ok",
	[GT_EINVAL] = "invalid argument",
	[GT_ENOMEM] = "out of memory",
	[GT_ENOENT] = "not found",
	[GT_EEXIST] = "already exists",
	[GT_EIO] = "i/o error",
	[GT_ETIMEDOUT] = "timed out",
	[GT_EFULL] = "full",
	[GT_ECLOSED] = "closed",
	[GT_EPROTO] = "protocol error",
	[GT_ECANCELED] = "cancelled",
	[GT_EAUTH] = "unauthenticated",
	[GT_ENOTSUP] = "not supported",
	[GT_EUNAVAIL] = "unavailable",
	[GT_ECORRUPT] = "corrupt data",
	[GT_EINTERNAL] = "internal error",
	[GT_EDONE] = "done",
};

const char *
gt_strerror(gt_err e)
{
	if ((unsigned)e >= GT_E_COUNT || err_names[e] == NULL)
		return "unknown error";
	return err_names[e];
}

gt_err
gt_err_from_errno(int err)
{
	switch (err) {
	case 0:
		return GT_OK;
	case ENOMEM:
		return GT_ENOMEM;
	case ENOENT:
		return GT_ENOENT;
	case EEXIST:
		return GT_EEXIST;
	case EINVAL:
		return GT_EINVAL;
	case ETIMEDOUT:
		return GT_ETIMEDOUT;
	case ENOSPC:
	case EAGAIN:
		return GT_EFULL;
	case ECANCELED:
		return GT_ECANCELED;
	case EACCES:
	case EPERM:
		return GT_EAUTH;
	case ECONNREFUSED:
	case ECONNRESET:
	case EHOSTUNREACH:
		return GT_EUNAVAIL;
	default:
		return GT_EIO;
	}
}

gt_err
gt_err_from_nng(int rv)
{
	switch (rv) {
	case 0:
		return GT_OK;
	case NNG_ENOMEM:
		return GT_ENOMEM;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
	case NNG_ENOTSUP:
		return rv == NNG_ENOTSUP ? GT_ENOTSUP : GT_EINVAL;
	case NNG_ETIMEDOUT:
		return GT_ETIMEDOUT;
	case NNG_ECLOSED:
		return GT_ECLOSED;
	case NNG_ECANCELED:
		return GT_ECANCELED;
	case NNG_EPROTO:
	case NNG_EMSGSIZE:
		return GT_EPROTO;
	case NNG_ECONNREFUSED:
	case NNG_ECONNRESET:
	case NNG_ECONNSHUT:
	case NNG_EUNREACHABLE:
		return GT_EUNAVAIL;
	case NNG_EADDRINUSE:
		return GT_EEXIST;
	case NNG_EAGAIN:
		return GT_EFULL;
	default:
		return GT_EIO;
	}
}

int
gt_exit_code(gt_err e)
{
	if (e == GT_OK || e == GT_EDONE)
		return 0;
	return e == GT_EINVAL ? 2 : 1;
}
