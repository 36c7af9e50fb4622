/* ctl_svc.h - the components gtctl talks to, by name (ctl_cmd_health.c). */
#ifndef CTL_SVC_H
#define CTL_SVC_H

#include "ctl.h"

typedef struct ctl_svc {
	const char                       *name; /* "mq", "collector", "streamer", "gateway" */
	const char                       *url;
	const ProtobufCServiceDescriptor *desc;
} ctl_svc;

/* Fill out for a component name; -1 when the name is unknown. */
int ctl_svc_lookup(const ctl_ctx *c, const char *name, ctl_svc *out);
/* Health of one component as a row {component,url,status,version,uptime,uptime_seconds,
 * latency_ms,details,error} (new reference); returns the call's exit status (quiet). */
int ctl_svc_health(ctl_ctx *c, const ctl_svc *s, json_t **row);
/* The component's Stats document (new reference) or NULL with the exit status. */
int ctl_svc_stats(ctl_ctx *c, const ctl_svc *s, json_t **doc, int quiet);

#endif
