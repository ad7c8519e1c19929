/* tests/test_orch_token.c — the browsers' access token and the loopback rule in
 * run_demo's plan: off loopback the token reaches the server through its environment,
 * never its command line (readable by every local user through ps); on loopback (the
 * same rule the server applies, common/addr.h) there is none. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "orchestrator/cli.h"
#include "orchestrator/plan.h"
#include "tests/support/runner.h"

/* A port free right now (the plan checks that its ports are). */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static plan_t *plan_for(const char *host) {
    char port[16];
    snprintf(port, sizeof port, "%d", free_port());
    char *argv[] = {"run_demo",     "--host", (char *)host, "--frontend", "none",
                    "--no-browser", "--port", port,         NULL};
    cli_options o;
    char err[1024];
    ck_assert_msg(cli_parse(8, argv, &o, err, sizeof err) == 0, "%s", err);
    plan_t *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(plan_build(p, &o, err, sizeof err) == 0, "%s", err);
    return p;
}

START_TEST(token_in_environment_not_argv) {
    plan_t *p = plan_for("0.0.0.0");
    ck_assert_uint_eq(strlen(p->access_token), 32);
    const plan_child *s = &p->child[CFG_PROC_SERVER];
    for (int i = 0; i < s->argc; i++) {
        ck_assert_msg(strstr(s->argv[i], p->access_token) == NULL, "token in argv[%d]", i);
        ck_assert_str_ne(s->argv[i], "--token");
    }
    char want[80];
    snprintf(want, sizeof want, "RD_ACCESS_TOKEN=%s", p->access_token);
    bool found = false;
    for (int i = 0; i < s->n_env; i++)
        if (strcmp(s->env[i], want) == 0) found = true;
    ck_assert_msg(found, "RD_ACCESS_TOKEN not in the server's environment");
    ck_assert_ptr_nonnull(strstr(p->url, p->access_token));
    free(p);
}
END_TEST

START_TEST(loopback_rule_shared_with_server) {
    const char *loop[] = {"127.0.0.1", "127.1.2.3", "localhost",
                          "::1",       "[::1]",     "::ffff:127.0.0.1"};
    const char *open_[] = {"0.0.0.0",         "::",   "[::]",        "10.0.0.1",
                           "127.example.com", "127.", "example.org", "::2"};
    for (size_t i = 0; i < sizeof loop / sizeof loop[0]; i++)
        ck_assert_msg(addr_is_loopback_name(loop[i]), "%s", loop[i]);
    /* the plan (which takes only addresses of this machine, unbracketed) agrees */
    const char *bindable[] = {"127.0.0.1", "localhost", "::1"};
    for (size_t i = 0; i < sizeof bindable / sizeof bindable[0]; i++) {
        plan_t *p = plan_for(bindable[i]);
        ck_assert_msg(p->access_token[0] == 0, "%s: a token on loopback", bindable[i]);
        free(p);
    }
    for (size_t i = 0; i < sizeof open_ / sizeof open_[0]; i++)
        ck_assert_msg(!addr_is_loopback_name(open_[i]), "%s", open_[i]);
}
END_TEST

int main(void) {
    Suite *s = suite_create("orch_token");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, token_in_environment_not_argv);
    tcase_add_test(tc, loopback_rule_shared_with_server);
    suite_add_tcase(s, tc);
    return runner_run(s) ? 1 : 0;
}
