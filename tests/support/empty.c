/* Keeps rd_testsupport non-empty while tests/support/ has no module yet. */
typedef int rd_testsupport_empty;
