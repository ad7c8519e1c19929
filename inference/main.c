/* inference/main.c — the server program: CLI, config, signals, the loop. The server itself
 * is inference/server.c; docs/PROTOCOL.md §1 documents this command line. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/pdeath.h"
#include "inference/server.h"

static void usage(FILE *f) {
    fputs("usage: server --config FILE --run-dir DIR --port N --host ADDR [--static DIR]\n"
          "              [--token T] [--frontend-port P] [--runs-root DIR] [--help]\n"
          "Serves the HTTP API, the training broadcast, the trainer link and inference\n"
          "sessions on one port (docs/PROTOCOL.md). --port 0 picks a free port; the\n"
          "chosen one is logged as 'listening on http://HOST:PORT/'. --runs-root lists the\n"
          "run directories below DIR as past runs, read-only.\n"
          "Environment: RD_ACCESS_TOKEN (the browsers' token, instead of --token: not visible\n"
          "in ps), RD_TRAINER_TOKEN (the trainer's token), RD_PARENT_PID, RD_LOG_LEVEL.\n",
          f);
}

static int parse_port(const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > 65535) return -1;
    *out = (int)v;
    return 0;
}

typedef struct {
    server_t *srv;
    uv_signal_t sigint, sigterm;
    int signals;
} app_t;

static void on_signal(uv_signal_t *h, int signum) {
    app_t *a = h->data;
    if (a->signals++ == 0) log_info("signal %d: stopping", signum);
    server_shutdown(a->srv);
    /* The handles stay (a second signal skips the wait) but no longer keep the loop alive:
     * it ends once the server's own handles are closed. */
    uv_unref((uv_handle_t *)&a->sigint);
    uv_unref((uv_handle_t *)&a->sigterm);
}

/* The command line into *o and *config. -1 to go on, else the exit code (2 for a usage
 * error, 0 after --help). */
static int parse_options(int argc, char **argv, server_options *o, const char **config) {
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"run-dir", required_argument, 0, 'r'},
                                         {"port", required_argument, 0, 'p'},
                                         {"host", required_argument, 0, 'H'},
                                         {"static", required_argument, 0, 's'},
                                         {"token", required_argument, 0, 't'},
                                         {"frontend-port", required_argument, 0, 'f'},
                                         {"runs-root", required_argument, 0, 'R'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
            case 'c':
                *config = optarg;
                break;
            case 'r':
                o->run_dir = optarg;
                break;
            case 'H':
                o->host = optarg;
                break;
            case 's':
                o->static_dir = optarg;
                break;
            case 't':
                o->token = optarg;
                break;
            case 'R':
                o->runs_root = optarg;
                break;
            case 'p':
                if (parse_port(optarg, &o->port) < 0) {
                    fprintf(stderr, "server: --port: not a port: %s\n", optarg);
                    return 2;
                }
                break;
            case 'f':
                if (parse_port(optarg, &o->frontend_port) < 0) {
                    fprintf(stderr, "server: --frontend-port: not a port: %s\n", optarg);
                    return 2;
                }
                break;
            case 'h':
                usage(stdout);
                return 0;
            default:
                usage(stderr);
                return 2;
        }
    }
    if (optind < argc || !o->run_dir) {
        fprintf(stderr, "server: %s\n",
                optind < argc ? "unexpected argument" : "--run-dir is required");
        usage(stderr);
        return 2;
    }
    return -1;
}

int main(int argc, char **argv) {
    const char *parent = getenv("RD_PARENT_PID");
    log_init("server", parent == NULL);
    if (!pdeath_arm(SIGTERM)) return 1; /* die with run_demo, and not start after it */
    signal(SIGPIPE, SIG_IGN);

    const char *config = NULL;
    server_options o = {0};
    o.port = -1;
    int rc = parse_options(argc, argv, &o, &config);
    if (rc >= 0) return rc;
    cfg_config cfg;
    char err[1024];
    cfg_defaults(&cfg);
    if (config && cfg_load_file(&cfg, config, err, sizeof err) < 0) {
        log_error("%s", err);
        return 2;
    }
    o.port = cfg_flag_int(o.port >= 0, o.port, cfg.server.inference_port);
    const char *env_token = getenv("RD_ACCESS_TOKEN");
    if (!o.token && env_token && env_token[0]) o.token = env_token;
    o.host = cfg_flag_str(o.host, cfg.server.host, "127.0.0.1");

    uv_loop_t loop;
    uv_loop_init(&loop);
    app_t app = {0};
    app.srv = server_create(&loop, &cfg, &o, err, sizeof err);
    if (!app.srv) {
        log_error("%s", err);
        uv_loop_close(&loop);
        return 2;
    }
    uv_signal_init(&loop, &app.sigint);
    uv_signal_init(&loop, &app.sigterm);
    app.sigint.data = app.sigterm.data = &app;
    uv_signal_start(&app.sigint, on_signal, SIGINT);
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);

    const char *h = o.host;
    bool v6 = strchr(h, ':') != NULL && h[0] != '[';
    log_info("listening on http://%s%s%s:%d/", v6 ? "[" : "", h, v6 ? "]" : "",
             server_port(app.srv));
    if (server_token(app.srv)[0] && !o.token)
        log_info("access URL: http://%s%s%s:%d/?token=%s", v6 ? "[" : "", h, v6 ? "]" : "",
                 server_port(app.srv), server_token(app.srv));
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&app.sigint, NULL);
    uv_close((uv_handle_t *)&app.sigterm, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    server_free(app.srv);
    rc = uv_loop_close(&loop);
    if (rc) log_warn("loop not empty at exit: %s", uv_strerror(rc));
    log_info("stopped");
    return 0;
}
