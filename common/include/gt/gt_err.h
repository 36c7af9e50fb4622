/* gt_err.h - error codes shared by every module, and their translations. */
#ifndef GT_ERR_H
#define GT_ERR_H

typedef enum gt_err {
	GT_OK = 0,
	GT_EINVAL,     /* bad argument or input */
	GT_ENOMEM,     /* out of memory */
	GT_ENOENT,     /* not found */
	GT_EEXIST,     /* already exists */
	GT_EIO,        /* I/O failure */
	GT_ETIMEDOUT,  /* deadline passed */
	GT_EFULL,      /* bounded resource is full (backpressure) */
	GT_ECLOSED,    /* object closed / shutting down */
	GT_EPROTO,     /* malformed wire data */
	GT_ECANCELED,  /* operation cancelled */
	GT_EAUTH,      /* missing or wrong token */
	GT_ENOTSUP,    /* not implemented / unsupported */
	GT_EUNAVAIL,   /* peer unreachable */
	GT_ECORRUPT,   /* stored data failed a check */
	GT_EINTERNAL,  /* a bug or an unexpected condition */
	GT_EDONE,      /* finished early with success (e.g. --help): exit 0 */
	GT_E_COUNT
} gt_err;

/* gt_strerror returns a static, stable lowercase name ("ok", "invalid argument"). */
const char *gt_strerror(gt_err e);

/* Translate foreign codes once, at the boundary. */
gt_err gt_err_from_errno(int err);
gt_err gt_err_from_nng(int nng_rv);

/* Process exit status: GT_OK/GT_EDONE -> 0, GT_EINVAL (bad config/input) -> 2, else 1. */
int gt_exit_code(gt_err e);

#endif
