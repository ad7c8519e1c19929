/* common/log.c — see log.h. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_program = "run_demo";
static bool log_timestamps;
static log_level log_threshold = LOG_INFO;

static const char *const log_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

int log_level_parse(const char *name, log_level *out) {
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, log_names[i]) == 0 ||
            (i == LOG_WARN && !strcasecmp(name, "warning"))) {
            *out = (log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_init(const char *program, bool timestamps) {
    log_program = program;
    log_timestamps = timestamps;
    const char *env = getenv("RD_LOG_LEVEL");
    log_level lv;
    if (env && log_level_parse(env, &lv) == 0) log_threshold = lv;
}

void log_set_level(log_level level) {
    log_threshold = level;
}

log_level log_get_level(void) {
    return log_threshold;
}

void log_msg(log_level level, const char *fmt, ...) {
    if (level < log_threshold) return;
    char line[4096];
    size_t n = 0;
    if (log_timestamps) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n += strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t)snprintf(line + n, sizeof line - n, ".%03ldZ ", ts.tv_nsec / 1000000);
    }
    n += (size_t)snprintf(line + n, sizeof line - n, "%s %s: ", log_names[level], log_program);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    /* A message longer than the buffer is cut, never split into two lines. */
    n = (m < 0) ? n : (n + (size_t)m >= sizeof line - 1 ? sizeof line - 2 : n + (size_t)m);
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
