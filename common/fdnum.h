/* fdnum.h — descriptors kept off 0, 1 and 2, which belong to the host program. */
#ifndef KYSO_FDNUM_H
#define KYSO_FDNUM_H

/*
 * Returns fd itself when it is 3 or above, else a close-on-exec copy of it numbered 3 or
 * above (the original closed), or -1 with errno (the original closed too). A library
 * inside a program that closed its standard descriptors (a daemon) would otherwise get
 * 0, 1 or 2 from socket() or eventfd(), and the program's next printf would go into the
 * agent's connection. Negative fd: returned as it is.
 */
int fd_off_stdio(int fd);

#endif
