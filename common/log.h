/* common/log.h — leveled logging for every program (prefix log_).
 *
 * One line per call on stderr: "LEVEL program: message". No colour: colour and the
 * "[HH:MM:SS] [Child]" prefix are the orchestrator's job. A program started on its own
 * (not under run_demo) may ask for timestamps with log_init(..., true). Lines are written
 * with a single write(2) so that lines from threads never interleave. */
#ifndef RD_COMMON_LOG_H
#define RD_COMMON_LOG_H

#include <stdbool.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* Names the program in every line; `timestamps` prefixes an ISO-8601 UTC time. The level
 * comes from $RD_LOG_LEVEL (debug|info|warn|error) when set, else info. */
void log_init(const char *program, bool timestamps);
void log_set_level(log_level level);
log_level log_get_level(void);
/* Parses "debug"|"info"|"warn"|"error"; returns 0 or -1 when the name is unknown. */
int log_level_parse(const char *name, log_level *out);

void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
