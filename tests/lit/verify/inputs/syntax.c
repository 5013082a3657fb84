/* A syntax error: clang reports it with its location. */
int f(int x)
{
    return x +;
}
