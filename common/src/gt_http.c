/* Placeholder until the libwebsockets server lands (being written now). */
#include "gt/gt_http.h"
