/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sockets other processes hold on a port: found through /proc (the
 * port's socket inodes in /proc/self/net, then /proc/PID/fd links), taken
 * with pidfd_getfd(2) so a tool can attach to or read them, and named by
 * their socket cookie as BPF programs see them.
 */
#ifndef FASTPATH_SOCKETS_H
#define FASTPATH_SOCKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One socket of the port, as one process holds it. */
struct fp_port_socket {
	pid_t pid;
	int fd; /* its number in that process */
	uint64_t inode;
};

struct fp_socket_query {
	int proto; /* IPPROTO_UDP or IPPROTO_TCP */
	uint16_t port;
	/*
	 * false: only the sockets new flows reach, TCP listeners and
	 * unconnected UDP sockets (a reuseport group); true: every socket
	 * bound to the port, connected ones included.
	 */
	bool any_state;
	const pid_t *pids; /* only these processes; NULL: all */
	int nr_pids;
};

/*
 * Inodes of the query's sockets in the current network namespace
 * (/proc/self/net/{udp,udp6} or {tcp,tcp6}), at most `max`: the count.
 */
int fp_port_inodes(const struct fp_socket_query *q, uint64_t *ino, int max);

/*
 * The query's sockets held by processes other than this one, by ascending
 * pid then fd; a socket shared by fork or dup counts once, at its first
 * holder. Returns the count and a malloc'd array in *out (free it), or
 * -errno.
 */
int fp_port_sockets(const struct fp_socket_query *q,
		    struct fp_port_socket **out);

/*
 * pidfd_open(2) and pidfd_getfd(2) (Linux 5.3 and 5.6), through syscall()
 * since older C libraries lack wrappers. An fd, or -errno. Taking a fd
 * needs PTRACE_MODE_ATTACH over the process (root or CAP_SYS_PTRACE).
 */
int fp_pidfd_open(pid_t pid);
int fp_pidfd_getfd(int pidfd, int fd);
/* Both: our own copy of fd `fd` of process `pid`, or -errno. */
int fp_take_fd(pid_t pid, int fd);

/* Is fd `fd` of process `pid` (still) the socket with this inode? */
bool fp_fd_is_socket(pid_t pid, int fd, uint64_t inode);
/* SO_COOKIE, what bpf_get_socket_cookie() returns; 0 if unknown. */
uint64_t fp_socket_cookie(int fd);
/* The process's name (/proc/PID/comm), "" if it is gone. */
void fp_proc_comm(pid_t pid, char *buf, size_t len);

#endif
