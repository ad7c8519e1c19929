/* Placeholder so the library has a member until the module lands. */
typedef int rd_placeholder;
