/* ctl_cmd_mq.c - the broker's side: `gtctl topics`, `gtctl groups`,
 * `gtctl mq dlq list|replay|purge TOPIC` and `gtctl mq purge TOPIC --yes`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gtpb/v1/mq.pb-c.h"

static int
get_topics(ctl_ctx *c, Gtpb__V1__TopicsResponse **out)
{
	Gtpb__V1__TopicsRequest in = GTPB__V1__TOPICS_REQUEST__INIT;

	return ctl_call(c, c->mq_url, &gtpb__v1__message_queue__descriptor, "Topics", &in.base,
	                (ProtobufCMessage **)out, 0, NULL);
}

int
ctl_cmd_topics(ctl_ctx *c)
{
	static const ctl_col cols[] = {{"topic", "TOPIC"},         {"partitions", "PARTITIONS"},
	                               {"messages", "MESSAGES"},   {"bytes", "BYTES"},
	                               {"max_bytes", "MAX_BYTES"}, {"groups", "GROUPS"}};
	Gtpb__V1__TopicsResponse *tr = NULL;
	json_t                   *rows;
	int                       rc;

	if (c->argc)
		return ctl_usage_error(c, "no arguments expected");
	if ((rc = get_topics(c, &tr)) != CTL_EXIT_OK)
		return rc;
	rows = json_array();
	for (size_t i = 0; i < tr->n_topics; i++) {
		const Gtpb__V1__TopicInfo *t = tr->topics[i];

		json_array_append_new(
		    rows,
		    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "topic", t->name, "partitions",
		              (json_int_t)t->partitions, "messages", (json_int_t)t->messages,
		              "bytes", (json_int_t)t->bytes, "max_bytes", (json_int_t)t->max_bytes,
		              "groups", (json_int_t)t->n_groups));
	}
	ctl_out_rows(c, cols, sizeof(cols) / sizeof(cols[0]), rows);
	json_decref(rows);
	protobuf_c_message_free_unpacked(&tr->base, NULL);
	return CTL_EXIT_OK;
}

int
ctl_cmd_groups(ctl_ctx *c)
{
	static const ctl_col      cols[] = {{"topic", "TOPIC"},
	                                    {"group", "GROUP"},
	                                    {"lag", "LAG"},
	                                    {"pending", "PENDING"},
	                                    {"redelivered", "REDELIVERED"},
	                                    {"dead_lettered", "DEAD_LETTERED"},
	                                    {"consumers", "CONSUMERS"}};
	Gtpb__V1__TopicsResponse *tr = NULL;
	json_t                   *rows;
	int                       rc;

	if (c->argc)
		return ctl_usage_error(c, "no arguments expected");
	if ((rc = get_topics(c, &tr)) != CTL_EXIT_OK)
		return rc;
	rows = json_array();
	for (size_t i = 0; i < tr->n_topics; i++) {
		const Gtpb__V1__TopicInfo *t = tr->topics[i];

		for (size_t j = 0; j < t->n_groups; j++) {
			const Gtpb__V1__GroupInfo *g = t->groups[j];
			json_t                    *o, *cons = json_array();
			char                       list[512] = "";

			for (size_t k = 0; k < g->n_consumers; k++) {
				json_array_append_new(cons, json_string(g->consumers[k]));
				if (strlen(list) + strlen(g->consumers[k]) + 2 < sizeof(list))
					strcat(strcat(list, k ? "," : ""), g->consumers[k]);
			}
			o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "topic", t->name, "group",
			              g->name, "lag", (json_int_t)g->lag, "pending",
			              (json_int_t)g->pending, "redelivered",
			              (json_int_t)g->redelivered, "dead_lettered",
			              (json_int_t)g->dead_lettered);
			/* a list in JSON, a comma-joined string in tables and CSV */
			json_object_set_new(o, "consumers",
			                    c->fmt == CTL_OUT_JSON ? cons : json_string(list));
			if (c->fmt != CTL_OUT_JSON)
				json_decref(cons);
			json_array_append_new(rows, o);
		}
	}
	ctl_out_rows(c, cols, sizeof(cols) / sizeof(cols[0]), rows);
	json_decref(rows);
	protobuf_c_message_free_unpacked(&tr->base, NULL);
	return CTL_EXIT_OK;
}

static int
dlq_list(ctl_ctx *c, const char *topic)
{
	static const ctl_col     cols[] = {{"dlq_offset", "DLQ_OFFSET"}, {"partition", "PARTITION"},
	                                   {"offset", "OFFSET"},         {"group", "GROUP"},
	                                   {"attempts", "ATTEMPTS"},     {"key", "KEY"},
	                                   {"bytes", "BYTES"},           {"reason", "REASON"}};
	Gtpb__V1__DlqListRequest in = GTPB__V1__DLQ_LIST_REQUEST__INIT;
	Gtpb__V1__DlqListResponse *out = NULL;
	json_t                    *rows;
	uint32_t                   limit;
	int                        rc;

	if ((rc = ctl_opt_u32(c, "limit", 100, &limit)) != CTL_EXIT_OK)
		return rc;
	in.topic = (char *)topic;
	in.limit = limit;
	if ((rc = ctl_call(c, c->mq_url, &gtpb__v1__message_queue__descriptor, "DlqList", &in.base,
	                   (ProtobufCMessage **)&out, 0, NULL)) != CTL_EXIT_OK)
		return rc;
	rows = json_array();
	for (size_t i = 0; i < out->n_letters; i++) {
		const Gtpb__V1__DeadLetter *d = out->letters[i];
		const Gtpb__V1__Message    *m = d->message;

		json_array_append_new(
		    rows,
		    json_pack("{s:I, s:I, s:I, s:s, s:I, s:s, s:I, s:s}", "dlq_offset",
		              (json_int_t)d->dlq_offset, "partition",
		              (json_int_t)(d->id ? d->id->partition : 0), "offset",
		              (json_int_t)(d->id ? d->id->offset : 0), "group", d->group,
		              "attempts", (json_int_t)d->attempts, "key", m && m->key ? m->key : "",
		              "bytes", (json_int_t)(m ? m->payload.len : 0), "reason", d->reason));
	}
	if (c->fmt == CTL_OUT_JSON) {
		json_t *doc = json_pack("{s:s, s:I, s:O}", "topic", topic, "total",
		                        (json_int_t)out->total, "letters", rows);

		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(doc);
	} else {
		ctl_out_rows(c, cols, sizeof(cols) / sizeof(cols[0]), rows);
		if (c->fmt == CTL_OUT_TABLE)
			printf("%zu of %llu dead letters\n", out->n_letters,
			       (unsigned long long)out->total);
	}
	json_decref(rows);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return CTL_EXIT_OK;
}

static void
print_count(ctl_ctx *c, const char *topic, const char *what, unsigned n)
{
	if (c->fmt == CTL_OUT_JSON)
		printf("{\"topic\":\"%s\",\"%s\":%u}\n", topic, what, n);
	else if (c->fmt == CTL_OUT_CSV)
		printf("topic,%s\n%s,%u\n", what, topic, n);
	else
		printf("%s: %s %u\n", topic, what, n);
}

static int
dlq_replay(ctl_ctx *c, const char *topic)
{
	Gtpb__V1__DlqReplayRequest   in = GTPB__V1__DLQ_REPLAY_REQUEST__INIT;
	Gtpb__V1__DlqReplayResponse *out = NULL;
	uint32_t                     limit;
	int                          rc;

	if ((rc = ctl_opt_u32(c, "limit", 0, &limit)) != CTL_EXIT_OK)
		return rc;
	in.topic = (char *)topic;
	in.limit = limit;
	if ((rc = ctl_call(c, c->mq_url, &gtpb__v1__message_queue__descriptor, "DlqReplay",
	                   &in.base, (ProtobufCMessage **)&out, 0, NULL)) != CTL_EXIT_OK)
		return rc;
	print_count(c, topic, "replayed", out->replayed);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return CTL_EXIT_OK;
}

static int
dlq_purge(ctl_ctx *c, const char *topic)
{
	Gtpb__V1__DlqPurgeRequest   in = GTPB__V1__DLQ_PURGE_REQUEST__INIT;
	Gtpb__V1__DlqPurgeResponse *out = NULL;
	int                         rc;

	if (!ctl_opt(c, "yes"))
		return ctl_usage_error(
		    c, "purging %s.dlq drops its dead letters for good: add --yes", topic);
	in.topic = (char *)topic;
	if ((rc = ctl_call(c, c->mq_url, &gtpb__v1__message_queue__descriptor, "DlqPurge", &in.base,
	                   (ProtobufCMessage **)&out, 0, NULL)) != CTL_EXIT_OK)
		return rc;
	print_count(c, topic, "purged", out->purged);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return CTL_EXIT_OK;
}

static int
topic_purge(ctl_ctx *c, const char *topic)
{
	Gtpb__V1__PurgeRequest   in = GTPB__V1__PURGE_REQUEST__INIT;
	Gtpb__V1__PurgeResponse *out = NULL;
	int                      rc;

	if (!ctl_opt(c, "yes"))
		return ctl_usage_error(
		    c,
		    "purging %s drops every retained message, delivered or not, for every group: "
		    "add --yes",
		    topic);
	in.topic = (char *)topic;
	if ((rc = ctl_call(c, c->mq_url, &gtpb__v1__message_queue__descriptor, "Purge", &in.base,
	                   (ProtobufCMessage **)&out, 0, NULL)) != CTL_EXIT_OK)
		return rc;
	print_count(c, topic, "purged", (unsigned)out->purged);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return CTL_EXIT_OK;
}

int
ctl_cmd_mq(ctl_ctx *c)
{
	if (c->argc == 3 && strcmp(c->argv[0], "dlq") == 0) {
		if (strcmp(c->argv[1], "list") == 0)
			return dlq_list(c, c->argv[2]);
		if (strcmp(c->argv[1], "replay") == 0)
			return dlq_replay(c, c->argv[2]);
		if (strcmp(c->argv[1], "purge") == 0)
			return dlq_purge(c, c->argv[2]);
	}
	if (c->argc == 2 && strcmp(c->argv[0], "purge") == 0)
		return topic_purge(c, c->argv[1]);
	return ctl_usage_error(c,
	                       "usage: gtctl mq dlq list|replay|purge TOPIC | gtctl mq purge TOPIC "
	                       "--yes");
}
