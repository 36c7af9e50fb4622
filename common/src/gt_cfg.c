/* gt_cfg.c - table-driven configuration: defaults -> file -> env -> flags, then validate. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gt/gt_buf.h"
#include "gt/gt_cfg.h"
#include "gt/gt_json.h"
#include "gt/gt_time.h"

extern char **environ;

typedef struct cfg_ctx {
	const gt_cfg_opt *opts;
	size_t            nopts;
	void             *cfg;
	const char       *prog;
	char             *err;
	size_t            errlen;
} cfg_ctx;

static gt_err
cfg_fail(cfg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static gt_err
cfg_fail(cfg_ctx *c, const char *fmt, ...)
{
	char    msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err != NULL)
		snprintf(c->err, c->errlen, "%s", msg);
	else
		fprintf(stderr, "%s: %s\n", c->prog, msg);
	return GT_EINVAL;
}

void
gt_cfg_env_name(const char *name, char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return;
	for (const char *p = "GT_"; *p && o + 1 < len; p++)
		buf[o++] = *p;
	for (const char *p = name; *p && o + 1 < len; p++)
		buf[o++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	buf[o] = '\0';
}

static void *
cfg_field(cfg_ctx *c, const gt_cfg_opt *o)
{
	return (char *)c->cfg + o->offset;
}

static gt_err
cfg_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return GT_OK;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return GT_OK;
		}
	}
	return GT_EINVAL;
}

/* Parse text for option o into its field. src names the source for messages. */
static gt_err
cfg_set(cfg_ctx *c, const gt_cfg_opt *o, const char *v, const char *src)
{
	void      *f = cfg_field(c, o);
	char      *end;
	long long  iv;
	int64_t    dv;
	double     d;
	bool       b;
	char       tmp[32];

	switch (o->type) {
	case GT_CFG_T_LIST:
	case GT_CFG_T_STR: {
		char *s = strdup(v);
		if (s == NULL)
			return GT_ENOMEM;
		free(*(char **)f);
		*(char **)f = s;
		return GT_OK;
	}
	case GT_CFG_T_INT:
		errno = 0;
		iv = strtoll(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0')
			return cfg_fail(c, "%s%s: not an integer: \"%s\"", src, o->name, v);
		if (iv < o->min || iv > o->max)
			return cfg_fail(c, "%s%s: must be between %lld and %lld (got %lld)", src,
			    o->name, (long long)o->min, (long long)o->max, iv);
		*(int64_t *)f = iv;
		return GT_OK;
	case GT_CFG_T_DUR:
		if (gt_duration_parse(v, &dv) != GT_OK)
			return cfg_fail(c,
			    "%s%s: not a duration: \"%s\" (use e.g. 250ms, 5s, 1m, 1h)", src,
			    o->name, v);
		if (dv < o->min || dv > o->max) {
			char lo[32];
			gt_duration_format(o->min, lo, sizeof(lo));
			gt_duration_format(o->max, tmp, sizeof(tmp));
			return cfg_fail(c, "%s%s: must be between %s and %s (got %s)", src, o->name,
			    lo, tmp, v);
		}
		*(int64_t *)f = dv;
		return GT_OK;
	case GT_CFG_T_DBL:
		errno = 0;
		d = strtod(v, &end);
		if (errno != 0 || end == v || *end != '\0' || !isfinite(d))
			return cfg_fail(c, "%s%s: not a number: \"%s\"", src, o->name, v);
		if (d < o->dmin || d > o->dmax)
			return cfg_fail(c, "%s%s: must be between %g and %g (got %s)", src, o->name,
			    o->dmin, o->dmax, v);
		*(double *)f = d;
		return GT_OK;
	case GT_CFG_T_BOOL:
		if (cfg_parse_bool(v, &b) != GT_OK)
			return cfg_fail(c, "%s%s: not a boolean: \"%s\" (use true or false)", src,
			    o->name, v);
		*(bool *)f = b;
		return GT_OK;
	case GT_CFG_T_ENUM:
		for (int i = 0; o->choices[i] != NULL; i++) {
			if (strcmp(v, o->choices[i]) == 0) {
				*(int *)f = i;
				return GT_OK;
			}
		}
		{
			gt_buf all;
			gt_buf_init(&all);
			for (int i = 0; o->choices[i] != NULL; i++)
				gt_buf_printf(&all, "%s%s", i ? "|" : "", o->choices[i]);
			cfg_fail(c, "%s%s: must be one of %s (got \"%s\")", src, o->name,
			    all.data ? all.data : "", v);
			gt_buf_fini(&all);
		}
		return GT_EINVAL;
	case GT_CFG_T_ALIAS:
		break; /* resolved by cfg_find */
	}
	return GT_EINVAL;
}

static const gt_cfg_opt *
cfg_find_exact(const gt_cfg_opt *opts, size_t nopts, const char *name, size_t n)
{
	for (size_t i = 0; i < nopts; i++) {
		if (strlen(opts[i].name) == n && strncmp(opts[i].name, name, n) == 0)
			return &opts[i];
	}
	return NULL;
}

/* The option a name means, an alias resolved to its target (NULL: unknown, or an alias of
 * an unknown or aliased name). */
static const gt_cfg_opt *
cfg_resolve(const gt_cfg_opt *opts, size_t nopts, const gt_cfg_opt *o)
{
	if (o != NULL && o->type == GT_CFG_T_ALIAS) {
		o = o->def ? cfg_find_exact(opts, nopts, o->def, strlen(o->def)) : NULL;
		if (o != NULL && o->type == GT_CFG_T_ALIAS)
			return NULL;
	}
	return o;
}

static const gt_cfg_opt *
cfg_find(cfg_ctx *c, const char *name, size_t n)
{
	return cfg_resolve(c->opts, c->nopts, cfg_find_exact(c->opts, c->nopts, name, n));
}

static gt_err
cfg_load_file(cfg_ctx *c, const char *path)
{
	json_error_t jerr;
	json_t      *root, *val;
	const char  *key;
	gt_err       rv = GT_OK;
	char         num[64];
	char         src[300];

	if ((root = json_load_file(path, 0, &jerr)) == NULL)
		return cfg_fail(c, "--config: %s:%d: %s", path, jerr.line, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return cfg_fail(c, "--config: %s: must hold a JSON object", path);
	}
	snprintf(src, sizeof(src), "%s: ", path);
	json_object_foreach(root, key, val)
	{
		const gt_cfg_opt *o = cfg_find(c, key, strlen(key));
		const char       *text = num;

		if (o == NULL) {
			rv = cfg_fail(c, "--config: %s: unknown option \"%s\"", path, key);
			break;
		}
		if (json_is_array(val) && o->type == GT_CFG_T_LIST) {
			gt_buf  all;
			size_t  k;
			json_t *it;

			gt_buf_init(&all);
			gt_buf_puts(&all, "");
			json_array_foreach(val, k, it)
			{
				if (!json_is_string(it)) {
					rv = cfg_fail(c, "--config: %s: \"%s\" must list strings", path, key);
					break;
				}
				gt_buf_printf(&all, "%s%s", k ? "," : "", json_string_value(it));
			}
			if (rv == GT_OK)
				rv = cfg_set(c, o, all.data ? all.data : "", src);
			gt_buf_fini(&all);
			if (rv != GT_OK)
				break;
			continue;
		}
		if (json_is_string(val))
			text = json_string_value(val);
		else if (json_is_integer(val))
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(val));
		else if (json_is_real(val))
			snprintf(num, sizeof(num), "%.17g", json_real_value(val));
		else if (json_is_boolean(val))
			snprintf(num, sizeof(num), "%s", json_is_true(val) ? "true" : "false");
		else {
			rv = cfg_fail(c, "--config: %s: \"%s\" must be a string, number or boolean",
			    path, key);
			break;
		}
		if ((rv = cfg_set(c, o, text, src)) != GT_OK)
			break;
	}
	json_decref(root);
	return rv;
}

static void
cfg_usage(cfg_ctx *c, const char *summary)
{
	gt_buf b;
	char   env[96];

	gt_buf_init(&b);
	gt_buf_printf(&b, "usage: %s [options]\n%s\n\noptions (each also as a GT_* environment variable):\n",
	    c->prog, summary ? summary : "");
	for (size_t i = 0; i < c->nopts; i++) {
		const gt_cfg_opt *o = &c->opts[i];
		const char       *arg = "";

		if (o->type == GT_CFG_T_ALIAS) {
			gt_cfg_env_name(o->name, env, sizeof(env));
			gt_buf_printf(&b, "  --%s\n      old name of --%s   env: %s\n", o->name,
			    o->def ? o->def : "", env);
			continue;
		}
		switch (o->type) {
		case GT_CFG_T_STR:
			arg = " STR";
			break;
		case GT_CFG_T_LIST:
			arg = " STR (repeatable)";
			break;
		case GT_CFG_T_INT:
			arg = " N";
			break;
		case GT_CFG_T_DUR:
			arg = " DURATION";
			break;
		case GT_CFG_T_DBL:
			arg = " X";
			break;
		case GT_CFG_T_BOOL:
			arg = "[=BOOL]";
			break;
		case GT_CFG_T_ENUM:
			arg = " CHOICE";
			break;
		case GT_CFG_T_ALIAS:
			break;
		}
		gt_cfg_env_name(o->name, env, sizeof(env));
		gt_buf_printf(&b, "  --%s%s\n      %s", o->name, arg, o->help ? o->help : "");
		if (o->type == GT_CFG_T_ENUM) {
			gt_buf_puts(&b, " (");
			for (int k = 0; o->choices[k] != NULL; k++)
				gt_buf_printf(&b, "%s%s", k ? "|" : "", o->choices[k]);
			gt_buf_puts(&b, ")");
		}
		gt_buf_printf(&b, "\n      default: %s   env: %s\n",
		    o->def && *o->def ? o->def : "\"\"", env);
	}
	gt_buf_puts(&b, "  --config FILE\n      JSON object of option names to values\n"
	                "  --print-config\n      print the effective configuration as JSON and exit\n"
	                "  --help\n      this text\n");
	fputs(b.data, stdout);
	gt_buf_fini(&b);
}

char *
gt_cfg_json(const gt_cfg_opt *opts, size_t nopts, const void *cfg)
{
	gt_buf b;
	int    first = 1;
	char   tmp[32];

	gt_buf_init(&b);
	gt_buf_putc(&b, '{');
	for (size_t i = 0; i < nopts; i++) {
		const void *f = (const char *)cfg + opts[i].offset;

		if (opts[i].type == GT_CFG_T_ALIAS)
			continue;
		gt_json_key(&b, &first, opts[i].name);
		switch (opts[i].type) {
		case GT_CFG_T_STR:
			gt_json_cstr(&b, *(char *const *)f ? *(char *const *)f : "");
			break;
		case GT_CFG_T_LIST: {
			char **v = NULL;
			size_t n = 0;

			gt_buf_putc(&b, '[');
			if (gt_cfg_list_split(*(char *const *)f, &v, &n) == GT_OK)
				for (size_t k = 0; k < n; k++) {
					if (k)
						gt_buf_putc(&b, ',');
					gt_json_cstr(&b, v[k]);
				}
			gt_cfg_list_free(v);
			gt_buf_putc(&b, ']');
			break;
		}
		case GT_CFG_T_INT:
			gt_json_int(&b, *(const int64_t *)f);
			break;
		case GT_CFG_T_DUR:
			gt_duration_format(*(const int64_t *)f, tmp, sizeof(tmp));
			gt_json_cstr(&b, tmp);
			break;
		case GT_CFG_T_DBL:
			gt_json_dbl(&b, *(const double *)f);
			break;
		case GT_CFG_T_BOOL:
			gt_buf_puts(&b, *(const bool *)f ? "true" : "false");
			break;
		case GT_CFG_T_ENUM:
			gt_json_cstr(&b, opts[i].choices[*(const int *)f]);
			break;
		case GT_CFG_T_ALIAS:
			break;
		}
	}
	gt_buf_putc(&b, '}');
	return gt_buf_take(&b, NULL);
}

void
gt_cfg_free(const gt_cfg_opt *opts, size_t nopts, void *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < nopts; i++) {
		if (opts[i].type == GT_CFG_T_STR || opts[i].type == GT_CFG_T_LIST) {
			char **f = (char **)((char *)cfg + opts[i].offset);
			free(*f);
			*f = NULL;
		}
	}
}

/* The flags pass: fills *config_path / *print / *help and applies nothing when pass == 0;
 * applies every flag when pass == 1. */
/* A repeated GT_CFG_T_LIST flag appends ",val" to what the flags set before. */
static gt_err
cfg_list_append(cfg_ctx *c, const gt_cfg_opt *o, const char *val)
{
	char **f = cfg_field(c, o);
	size_t a = *f ? strlen(*f) : 0, b = strlen(val);
	char  *s = malloc(a + b + 2);

	if (s == NULL)
		return GT_ENOMEM;
	if (a)
		memcpy(s, *f, a);
	s[a] = ',';
	memcpy(s + a + (a ? 1 : 0), val, b + 1);
	free(*f);
	*f = s;
	return GT_OK;
}

static gt_err
cfg_flags(cfg_ctx *c, int argc, char **argv, int pass, const char **config_path, int *print,
    int *help)
{
	unsigned char seen[256] = {0}; /* GT_CFG_T_LIST options already given as a flag */

	for (int i = 1; i < argc; i++) {
		const char       *a = argv[i];
		const char       *eq, *name, *val = NULL;
		const gt_cfg_opt *o;
		size_t            n;
		char              src[8] = "--";

		if (strncmp(a, "--", 2) != 0)
			return cfg_fail(c, "unexpected argument \"%s\" (options start with --; see --help)", a);
		name = a + 2;
		eq = strchr(name, '=');
		n = eq ? (size_t)(eq - name) : strlen(name);
		if (eq)
			val = eq + 1;
		if (n == 4 && strncmp(name, "help", 4) == 0) {
			*help = 1;
			continue;
		}
		if (n == 12 && strncmp(name, "print-config", 12) == 0) {
			*print = 1;
			continue;
		}
		if (n == 6 && strncmp(name, "config", 6) == 0) {
			if (val == NULL) {
				if (i + 1 >= argc)
					return cfg_fail(c, "--config: needs a file name");
				val = argv[++i];
			}
			*config_path = val;
			continue;
		}
		if ((o = cfg_find(c, name, n)) == NULL)
			return cfg_fail(c, "unknown option --%.*s (see --help)", (int)n, name);
		if (val == NULL) {
			if (o->type == GT_CFG_T_BOOL)
				val = "true";
			else if (i + 1 >= argc)
				return cfg_fail(c, "--%s: needs a value", o->name);
			else
				val = argv[++i];
		}
		if (pass == 1) {
			size_t idx = (size_t)(o - c->opts);
			gt_err rv;

			if (o->type == GT_CFG_T_LIST && idx < sizeof(seen) && seen[idx])
				rv = cfg_list_append(c, o, val);
			else
				rv = cfg_set(c, o, val, src);
			if (rv != GT_OK)
				return rv;
			if (idx < sizeof(seen))
				seen[idx] = 1;
		}
	}
	return GT_OK;
}

gt_err
gt_cfg_load_ex(const gt_cfg_opt *opts, size_t nopts, void *cfg, int argc, char **argv,
    char **envp, const char *prog, const char *summary, char *err, size_t errlen)
{
	cfg_ctx     c = {opts, nopts, cfg, prog, err, errlen};
	const char *config_path = NULL;
	int         print = 0, help = 0;
	gt_err      rv;
	char        env[96], src[160];

	/* Defaults. Strings always end up allocated so gt_cfg_free is uniform. */
	for (size_t i = 0; i < nopts; i++) {
		if (opts[i].type == GT_CFG_T_STR || opts[i].type == GT_CFG_T_LIST)
			*(char **)((char *)cfg + opts[i].offset) = NULL;
	}
	for (size_t i = 0; i < nopts; i++) {
		const char *d = opts[i].def ? opts[i].def : "";

		if (opts[i].type == GT_CFG_T_ALIAS) {
			if (cfg_resolve(opts, nopts, &opts[i]) == NULL) {
				rv = cfg_fail(&c, "--%s: alias of an unknown option", opts[i].name);
				goto fail;
			}
			continue;
		}
		if (opts[i].type == GT_CFG_T_STR || opts[i].type == GT_CFG_T_LIST || *d != '\0') {
			if ((rv = cfg_set(&c, &opts[i], d, "default for --")) != GT_OK)
				goto fail;
		}
	}
	if ((rv = cfg_flags(&c, argc, argv, 0, &config_path, &print, &help)) != GT_OK)
		goto fail;
	if (help) {
		cfg_usage(&c, summary);
		return GT_EDONE;
	}
	if (config_path != NULL && (rv = cfg_load_file(&c, config_path)) != GT_OK)
		goto fail;
	for (char **e = envp; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		if (eq == NULL || strncmp(*e, "GT_", 3) != 0)
			continue;
		for (size_t i = 0; i < nopts; i++) {
			gt_cfg_env_name(opts[i].name, env, sizeof(env));
			if (strlen(env) == (size_t)(eq - *e) && strncmp(env, *e, (size_t)(eq - *e)) == 0) {
				snprintf(src, sizeof(src), "%s: --", env);
				if ((rv = cfg_set(&c, cfg_resolve(opts, nopts, &opts[i]), eq + 1, src)) !=
				    GT_OK)
					goto fail;
			}
		}
	}
	if ((rv = cfg_flags(&c, argc, argv, 1, &config_path, &print, &help)) != GT_OK)
		goto fail;
	if (print) {
		char *j = gt_cfg_json(opts, nopts, cfg);
		if (j != NULL)
			printf("%s\n", j);
		free(j);
		return GT_EDONE;
	}
	return GT_OK;
fail:
	gt_cfg_free(opts, nopts, cfg);
	return rv == GT_ENOMEM ? GT_ENOMEM : GT_EINVAL;
}

gt_err
gt_cfg_load(const gt_cfg_opt *opts, size_t nopts, void *cfg, int argc, char **argv,
    const char *prog, const char *summary)
{
	return gt_cfg_load_ex(opts, nopts, cfg, argc, argv, environ, prog, summary, NULL, 0);
}

gt_err
gt_cfg_list_split(const char *s, char ***out, size_t *n)
{
	char      **v;
	size_t      cap = 1, k = 0;
	const char *p;

	*out = NULL;
	*n = 0;
	for (p = s ? s : ""; *p; p++)
		cap += *p == ',';
	if ((v = calloc(cap + 1, sizeof(*v))) == NULL)
		return GT_ENOMEM;
	for (p = s ? s : ""; *p;) {
		const char *e = strchr(p, ','), *a = p, *z;

		if (e == NULL)
			e = p + strlen(p);
		z = e;
		while (a < z && isspace((unsigned char)*a))
			a++;
		while (z > a && isspace((unsigned char)z[-1]))
			z--;
		if (z > a) {
			if ((v[k] = strndup(a, (size_t)(z - a))) == NULL) {
				gt_cfg_list_free(v);
				return GT_ENOMEM;
			}
			k++;
		}
		p = *e ? e + 1 : e;
	}
	*out = v;
	*n = k;
	return GT_OK;
}

void
gt_cfg_list_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}
