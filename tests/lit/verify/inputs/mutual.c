/* One violation: mutual recursion through three functions. */
static int ping(int n);
static int pong(int n);
static int pang(int n) { return n > 0 ? ping(n - 1) : 0; }
static int ping(int n) { return n > 0 ? pong(n - 1) : 1; }
static int pong(int n) { return n > 0 ? pang(n - 1) : 2; }
int start(int n) { return ping(n); }
