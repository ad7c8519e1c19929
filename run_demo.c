/* run_demo — one command for the whole demo: CLI → config → plan → orchestrator.
 *
 * Everything that can be wrong is found before anything starts (orchestrator/plan.h):
 * a usage or configuration error is one line on stderr and exit status 2. Then the
 * orchestrator (orchestrator/orch.h) runs the trainer, the server and the frontend until
 * a signal, a failure or completion. */
#include <stdio.h>
#include <stdlib.h>

#include "orchestrator/cli.h"
#include "orchestrator/cluster.h"
#include "orchestrator/orch.h"
#include "orchestrator/plan.h"

int main(int argc, char **argv) {
    cli_options opt;
    char err[1024];
    if (cli_parse(argc, argv, &opt, err, sizeof err) != 0) {
        fprintf(stderr, "run_demo: %s\n", err);
        return 2;
    }
    if (opt.help) {
        cli_usage(stdout);
        return 0;
    }
    if (opt.version) {
        printf("run_demo %s\n", RD_VERSION);
        return 0;
    }
    if (opt.cancel_sweep) return cluster_cancel_sweep(opt.cancel_sweep, stderr);
    plan_t *plan = calloc(1, sizeof *plan); /* large: child command lines, the config */
    if (!plan) {
        fputs("run_demo: out of memory\n", stderr);
        return 1;
    }
    int rc = 2;
    if (plan_build(plan, &opt, err, sizeof err) != 0 ||
        plan_create_run_dir(plan, err, sizeof err) != 0) {
        fprintf(stderr, "run_demo: %s\n", err);
        goto out;
    }
    rc = orch_run(plan);
out:
    free(plan);
    return rc;
}
