/* One violation: direct recursion. */
unsigned fact(unsigned n)
{
    return n <= 1 ? 1 : n * fact(n - 1);
}
