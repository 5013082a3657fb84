/* One violation: a FILE* parameter, FILE declared by hand. */
typedef struct my_file FILE;
int dump(FILE *f, const float *x);
