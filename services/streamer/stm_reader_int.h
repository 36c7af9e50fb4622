/* stm_reader_int.h - the reader's state, shared by stm_reader.c (libcsv, header, public API)
 * and stm_rows.c (rows -> records). Not for use outside the reader. */
#ifndef STM_READER_INT_H
#define STM_READER_INT_H

#include <csv.h>
#include <stddef.h>
#include <stdint.h>

#include "gt/gt_buf.h"
#include "stm_reader.h"

#define NOSTR ((size_t)-1)

typedef enum col_kind {
	COL_IGNORE = 0,
	COL_TS,
	COL_GPU_ID,
	COL_HOST,
	COL_UUID,
	COL_DEVICE,
	COL_MODEL,
	COL_INDEX,
	COL_MNAME,      /* DCGM metric_name */
	COL_VALUE,      /* DCGM value */
	COL_LABELS_RAW, /* DCGM labels_raw */
	COL_METRIC,     /* numeric metric (known name, or a wide column decided numeric) */
	COL_LABEL,      /* string label */
	COL_AUTO,       /* wide: undecided until the first value; nvidia-smi: per value */
} col_kind;

typedef struct col {
	char       *name; /* header text (trimmed), owned */
	const char *key;  /* metric or label key: canonical name (static) or name/stripped name */
	char       *own_key;
	col_kind    kind;
} col;

typedef struct fld {
	uint32_t off, len;
} fld;

typedef struct mref {
	const char *key; /* static/column-owned key, or NULL: arena offset koff */
	size_t      koff;
	double      v;
} mref;

typedef struct lref {
	const char *key;
	size_t      koff;
	size_t      voff;
} lref;

struct stm_reader {
	stm_reader_cfg cfg;
	char          *columns;
	char          *hostname;
	stm_emit_fn    emit;
	void          *arg;
	char          *file;

	struct csv_parser csv;
	stm_format        fmt;
	int               have_header;
	int               skip_line; /* skipping the rest of a broken or too long line */
	size_t            line_len;  /* bytes of the current line handed to libcsv */
	size_t            unpolled;  /* bytes fed since cfg.stopping was last polled */
	size_t            max_line;
	uint32_t          max_fields;
	int               at_start; /* BOM check */
	int               bom_pos;
	uint64_t          line;     /* '\n' seen so far in this pass */
	uint64_t          fed;       /* bytes fed in this pass */
	uint64_t          line_off;  /* ... up to the start of the current line */
	uint64_t          group_off; /* ... up to the first row of the open DCGM group */
	gt_err            err;
	char              errmsg[512];

	col   *cols;
	size_t ncols;

	/* current row */
	gt_buf rowbuf;
	fld   *flds;
	size_t nflds, fcap;
	int    row_bad; /* more than max_fields fields */

	/* record under construction */
	gt_buf   arena;
	size_t   s_host, s_uuid, s_model, s_device, s_gpu_id, s_key, s_gid;
	int32_t  index;
	int64_t  ts;
	int      ts_source;
	uint64_t rec_line;
	uint32_t rec_rows;
	int      group_open; /* DCGM */
	mref    *m;
	size_t   nm, mcap;
	lref    *l;
	size_t   nl, lcap;
	gt_buf   scratch;
	gt_buf   gid;

	/* the reused protobuf record */
	Gtpb__V1__TelemetryRecord               rec;
	Gtpb__V1__TelemetryRecord__MetricsEntry *pm;
	Gtpb__V1__TelemetryRecord__MetricsEntry **ppm;
	size_t                                   pmcap;
	Gtpb__V1__TelemetryRecord__LabelsEntry  *pl;
	Gtpb__V1__TelemetryRecord__LabelsEntry  **ppl;
	size_t                                   plcap;

	stm_reader_stats st;
	char            *block;
};


/* Fields of the current row (NUL-terminated copies in rowbuf). */
#define FSTR(r, i) ((r)->rowbuf.data + (r)->flds[i].off)
#define FLEN(r, i) ((size_t)(r)->flds[i].len)

/* stm_reader.c: count a bad row (per reason) and log it (unless quiet) with file:line. */
void stm__bad_row(stm_reader *r, uint64_t line, stm_bad_reason why, const char *detail);

/* stm_rows.c: start an empty record; turn the current row into records (emitting through
 * r->emit). DCGM rows are grouped: the open group is emitted when the next row belongs to
 * another (timestamp, GPU) or by stm__dcgm_flush at the end of the input. */
void stm__rec_reset(stm_reader *r);
void stm__row_wide_smi(stm_reader *r, uint64_t line);
void stm__row_dcgm(stm_reader *r, uint64_t line);
void stm__dcgm_flush(stm_reader *r);

#endif
