/* One violation: a call to free. */
void free(void *p);
void release(float *p)
{
    free(p);
}
