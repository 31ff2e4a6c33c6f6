/* The floor of a process start: a C program linked against the C library
 * alone, which exits at once (start_latency.c starts it). */
int main(void) { return 0; }
