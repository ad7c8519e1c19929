/* tests/test_common_fs.c — common/fs.h: mkdir -p (nested, existing, a file in the way),
 * the atomic replacement (content, temporary names, nothing left behind on failure, the
 * old file intact) and the fsync of a folder. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"

static char root[64];

static void setup(void) {
    snprintf(root, sizeof root, "/tmp/rd_test_fs.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void) {
    scratch_rm_rf(root);
}

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The whole file at p into buf (NUL-terminated); its length, or -1 when absent. */
static long slurp(const char *p, char *buf, size_t cap) {
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

/* How many entries (but . and ..) the folder holds. */
static int entries(const char *dir) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    ck_assert_int_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

START_TEST(mkdir_p_nested_and_existing) {
    char p[256];
    for (int flags = 0; flags <= FS_SYNC; flags += FS_SYNC) {
        snprintf(p, sizeof p, "%s/f%d/a/b/c/", root, flags);
        ck_assert_int_eq(fs_mkdir_p(p, flags), 0);
        ck_assert(is_dir(p));
        ck_assert_int_eq(fs_mkdir_p(p, flags), 0); /* already there: fine */
    }
    /* A file in the way: ENOTDIR, whether it is the target or a parent. */
    snprintf(p, sizeof p, "%s/file", root);
    scratch_write(p, "x");
    errno = 0;
    ck_assert_int_eq(fs_mkdir_p(p, 0), -1);
    ck_assert_int_eq(errno, ENOTDIR);
    snprintf(p, sizeof p, "%s/file/sub", root);
    ck_assert_int_eq(fs_mkdir_p(p, 0), -1);
    ck_assert_int_eq(errno, ENOTDIR);
    char longp[PATH_MAX + 10];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    ck_assert_int_eq(fs_mkdir_p(longp, 0), -1);
    ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

START_TEST(atomic_write_replaces_whole) {
    char p[256], buf[256], err[512] = "";
    snprintf(p, sizeof p, "%s/progress.json", root);
    for (int flags = 0; flags <= (FS_SYNC | FS_TMP_PID); flags++) {
        ck_assert_msg(fs_write_atomic(p, "old\n", 4, flags, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(slurp(p, buf, sizeof buf), 4);
        ck_assert_str_eq(buf, "old\n");
        ck_assert_msg(fs_write_atomic(p, "newer\n", 6, flags, err, sizeof err) == 0, "%s", err);
        ck_assert_str_eq((slurp(p, buf, sizeof buf), buf), "newer\n");
        ck_assert_int_eq(entries(root), 1); /* no temporary file left */
    }
    /* In pieces, and the temporary name while it is written. */
    fs_atomic a;
    ck_assert_int_eq(fs_atomic_open(&a, p, FS_TMP_PID, err, sizeof err), 0);
    char want_tmp[300];
    snprintf(want_tmp, sizeof want_tmp, "%s.tmp.%ld", p, (long)getpid());
    ck_assert_str_eq(a.tmp, want_tmp);
    ck_assert_int_eq(fs_atomic_write(&a, "ab", 2, err, sizeof err), 0);
    ck_assert_int_eq(fs_atomic_write(&a, "cd", 2, err, sizeof err), 0);
    ck_assert_str_eq((slurp(p, buf, sizeof buf), buf), "newer\n"); /* readers see the old */
    ck_assert_int_eq(fs_atomic_commit(&a, err, sizeof err), 0);
    ck_assert_str_eq((slurp(p, buf, sizeof buf), buf), "abcd");
    /* Aborted: the old file stays, the temporary one goes. */
    ck_assert_int_eq(fs_atomic_open(&a, p, 0, err, sizeof err), 0);
    ck_assert_str_eq(a.tmp + strlen(p), ".tmp");
    ck_assert_int_eq(fs_atomic_write(&a, "zz", 2, err, sizeof err), 0);
    fs_atomic_abort(&a);
    ck_assert_str_eq((slurp(p, buf, sizeof buf), buf), "abcd");
    ck_assert_int_eq(entries(root), 1);
}
END_TEST

START_TEST(atomic_write_failures_say_where) {
    char p[256], err[512] = "";
    snprintf(p, sizeof p, "%s/missing/x.json", root);
    errno = 0;
    ck_assert_int_eq(fs_write_atomic(p, "x", 1, FS_SYNC, err, sizeof err), -1);
    ck_assert_int_eq(errno, ENOENT); /* kept for a caller that reports strerror(errno) */
    char want[600];
    snprintf(want, sizeof want, "%s.tmp: cannot create: %s", p, strerror(ENOENT));
    ck_assert_str_eq(err, want);
    /* Renaming over a folder fails after the data was written: the temporary file goes. */
    snprintf(p, sizeof p, "%s/adir", root);
    ck_assert_int_eq(fs_mkdir_p(p, 0), 0);
    char inner[300];
    snprintf(inner, sizeof inner, "%s/f", p);
    scratch_write(inner, "keep");
    ck_assert_int_eq(fs_write_atomic(p, "x", 1, FS_TMP_PID, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "rename failed") != NULL, "%s", err);
    ck_assert_int_eq(entries(root), 1);
    /* No buffer: still -1 with errno. */
    snprintf(p, sizeof p, "%s/missing/y", root);
    ck_assert_int_eq(fs_write_atomic(p, "x", 1, 0, NULL, 0), -1);
}
END_TEST

START_TEST(fsync_dir_ok_and_missing) {
    ck_assert_int_eq(fs_fsync_dir(root), 0);
    char p[256];
    snprintf(p, sizeof p, "%s/none", root);
    ck_assert_int_eq(fs_fsync_dir(p), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

int main(void) {
    Suite *s = suite_create("common_fs");
    TCase *tc = tcase_create("fs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mkdir_p_nested_and_existing);
    tcase_add_test(tc, atomic_write_replaces_whole);
    tcase_add_test(tc, atomic_write_failures_say_where);
    tcase_add_test(tc, fsync_dir_ok_and_missing);
    suite_add_tcase(s, tc);
    return runner_run(s) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
