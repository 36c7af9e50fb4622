/* gt_log.c - JSON-lines logger: format into a thread-local buffer, one write(). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gt/gt_buf.h"
#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"

static char        log_service[64] = "gt";
static atomic_int  log_level = GT_LOG_INFO;
static atomic_int  log_fd = 1;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void
gt_log_open(const char *service, gt_log_level level)
{
	size_t n = strlen(service);

	if (n >= sizeof(log_service))
		n = sizeof(log_service) - 1;
	memcpy(log_service, service, n);
	log_service[n] = '\0';
	atomic_store(&log_level, (int)level);
}

void
gt_log_close(void)
{
	/* stdout is unbuffered at our level (write()); nothing to flush. */
}

void
gt_log_set_level(gt_log_level level)
{
	atomic_store(&log_level, (int)level);
}

void
gt_log_set_fd(int fd)
{
	atomic_store(&log_fd, fd);
}

int
gt_log_enabled(gt_log_level level)
{
	return (int)level >= atomic_load_explicit(&log_level, memory_order_relaxed) &&
	    level < GT_LOG_OFF;
}

gt_err
gt_log_level_parse(const char *s, gt_log_level *out)
{
	for (int i = 0; i <= GT_LOG_OFF; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (gt_log_level)i;
			return GT_OK;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = GT_LOG_WARN;
		return GT_OK;
	}
	return GT_EINVAL;
}

/* The per-thread buffer is freed when its thread exits (a key destructor): without it every
 * worker thread that ever logged leaked its buffer (LeakSanitizer). */
static pthread_key_t  log_tb_key;
static pthread_once_t log_tb_once = PTHREAD_ONCE_INIT;

static void
log_tb_free(void *p)
{
	gt_buf_fini(p);
}

static void
log_tb_key_init(void)
{
	pthread_key_create(&log_tb_key, log_tb_free);
}

static void
log_field(gt_buf *b, const gt_kv *kv)
{
	int first = 0;

	gt_json_key(b, &first, kv->key);
	switch (kv->type) {
	case GT_KV_T_STR:
		gt_json_cstr(b, kv->v.s);
		break;
	case GT_KV_T_INT:
		gt_json_int(b, kv->v.i);
		break;
	case GT_KV_T_UINT:
		gt_json_uint(b, kv->v.u);
		break;
	case GT_KV_T_DBL:
		gt_json_dbl(b, kv->v.d);
		break;
	case GT_KV_T_BOOL:
		gt_buf_puts(b, kv->v.b ? "true" : "false");
		break;
	default:
		gt_buf_puts(b, "null");
		break;
	}
}

void
gt_log_write(gt_log_level level, const char *message, const gt_kv *kv, size_t nkv)
{
	static _Thread_local gt_buf tb; /* reused; one small allocation per thread */
	char                        ts[40];
	size_t                      off = 0;
	ssize_t                     w;

	if (tb.data == NULL) {
		pthread_once(&log_tb_once, log_tb_key_init);
		pthread_setspecific(log_tb_key, &tb);
	}
	gt_buf_reset(&tb);
	gt_rfc3339_format(gt_now_ns(), 3, ts, sizeof(ts));
	gt_buf_puts(&tb, "{\"timestamp\":\"");
	gt_buf_puts(&tb, ts);
	gt_buf_puts(&tb, "\",\"level\":\"");
	gt_buf_puts(&tb, level_names[level < GT_LOG_OFF ? level : GT_LOG_ERROR]);
	gt_buf_puts(&tb, "\",\"service\":");
	gt_json_cstr(&tb, log_service);
	gt_buf_puts(&tb, ",\"message\":");
	gt_json_cstr(&tb, message);
	for (size_t i = 0; i < nkv; i++) {
		if (kv[i].key != NULL)
			log_field(&tb, &kv[i]);
	}
	if (gt_buf_puts(&tb, "}\n") != GT_OK)
		return;
	/* One write() per record keeps lines whole across threads and processes (pipe writes
	 * below PIPE_BUF are atomic); loop only for very long lines. */
	while (off < tb.len) {
		w = write(atomic_load(&log_fd), tb.data + off, tb.len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		off += (size_t)w;
	}
}
