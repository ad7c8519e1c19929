/* orchestrator/logmux.h — the log multiplexer (prefix logmux_).
 *
 * Every line a child writes on stdout or stderr reaches run_demo's stdout exactly once and
 * whole, as "[HH:MM:SS] [Training] text". Each child pipe is a logmux_stream with a fixed
 * buffer: the event loop reads into the free tail (logmux_stream_space), then commits what
 * it read (logmux_stream_commit), which moves every complete line into one large output
 * buffer. Partial writes stay in the stream buffer until their newline arrives; a line
 * longer than LOGMUX_LINE_MAX is cut at a UTF-8 boundary and marked " [...]" at the cut
 * and "[...] " on the continuation; at EOF the unterminated rest is printed
 * (logmux_stream_finish). Invalid UTF-8 becomes U+FFFD and control characters (C0, DEL,
 * C1, so ESC and CSI) are shown in caret notation, so a child can never move the cursor,
 * change colours or retitle the terminal.
 *
 * Memory is fixed: LOGMUX_STREAM_BUF per stream plus LOGMUX_OUT_BUF; nothing is allocated
 * per line. The output is written with large write(2) calls (logmux_flush, after each
 * event-loop iteration or when the buffer fills); a blocked stdout blocks the loop, which
 * in turn stops reading from children: back-pressure, not unbounded growth.
 *
 * On a terminal a status line may be kept at the bottom: each flush erases it, writes the
 * new lines and redraws it. */
#ifndef RD_ORCH_LOGMUX_H
#define RD_ORCH_LOGMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define LOGMUX_STREAM_BUF (64 * 1024)
#define LOGMUX_LINE_MAX   (16 * 1024)
#define LOGMUX_OUT_BUF    (256 * 1024)
#define LOGMUX_TAIL_LINES 12
#define LOGMUX_TAIL_WIDTH 200
#define LOGMUX_STATUS_MAX 256

/* The last lines of one child (stdout and stderr together), kept for failure reports. */
typedef struct {
    char lines[LOGMUX_TAIL_LINES][LOGMUX_TAIL_WIDTH];
    int next, count;
} logmux_tail;

typedef struct {
    char prefix[256]; /* "[Training] " or a sweep run's "[agent.gamma=0.99,seed=3] " with its
                       * colour codes, after the time */
    size_t prefix_len;
    logmux_tail *tail; /* may be NULL */
    size_t len;        /* bytes buffered (an incomplete line) */
    bool continued;    /* the buffered bytes continue a line that was cut */
    unsigned long long lines;
    char buf[LOGMUX_STREAM_BUF];
} logmux_stream;

typedef struct {
    int fd; /* where lines go (stdout) */
    bool color;
    bool status_enabled; /* stdout is a terminal: keep a status line at the bottom */
    char status[LOGMUX_STATUS_MAX];
    size_t status_len;
    time_t stamp_sec;
    char stamp[32]; /* "[HH:MM:SS] " with colour codes */
    size_t stamp_len;
    unsigned long long lines_out;
    size_t out_len;
    char out[LOGMUX_OUT_BUF];
} logmux;

/* Colours for labels (ANSI SGR numbers). */
enum {
    LOGMUX_CYAN = 36,
    LOGMUX_MAGENTA = 35,
    LOGMUX_GREEN = 32,
    LOGMUX_YELLOW = 33,
    LOGMUX_BLUE = 34,
    LOGMUX_BOLD = 1
};

/* Decides colour: --color always/never win; then NO_COLOR (set and non-empty) disables,
 * FORCE_COLOR (set, not "0") enables; else colour iff fd is a terminal. mode: 0 auto,
 * 1 always, 2 never. */
bool logmux_want_color(int mode, int fd);

void logmux_init(logmux *m, int fd, bool color, bool status_enabled);

/* label "Training", colour one of the LOGMUX_* numbers; tail may be shared or NULL. */
void logmux_stream_init(logmux_stream *s, const logmux *m, const char *label, int colour,
                        logmux_tail *tail);

/* The free part of the stream's buffer, for the next read. Never empty. */
void logmux_stream_space(logmux_stream *s, char **ptr, size_t *len);

/* n bytes were read into the space: emit every complete line. */
void logmux_stream_commit(logmux *m, logmux_stream *s, size_t n);

/* Convenience for callers that hold the data elsewhere (tests, benchmarks). */
void logmux_stream_feed(logmux *m, logmux_stream *s, const char *data, size_t n);

/* End of the stream: prints an unterminated last line, if any. */
void logmux_stream_finish(logmux *m, logmux_stream *s);

/* run_demo's own line, same format, label "run_demo". */
void logmux_printf(logmux *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets the bottom status line (only shown when status_enabled); "" hides it. */
void logmux_set_status(logmux *m, const char *text);

/* Writes the buffered output (and redraws the status line). */
void logmux_flush(logmux *m);

/* Copies the tail's lines, oldest first, into out as "  line\n" rows. */
void logmux_tail_format(const logmux_tail *t, char *out, size_t outlen);

/* Writes the neutralised form of src (at most 3 * n bytes) to dst; returns its length. */
size_t logmux_sanitize(char *dst, const char *src, size_t n);

#endif
